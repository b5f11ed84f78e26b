"""Helpcenter articles: one Markdown file with YAML front matter each, under faq/."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.config.errors import Problem, ProjectError
from bot.config.yamlfile import parse_yaml
from bot.nlu import ArticleText

FAQ_DIR = "faq"
REQUIRED_KEYS = ("id", "title", "category", "intents")
OPTIONAL_KEYS = ("url", "links", "popularity")
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# [text](target) and <autolink>; a "setting:NAME" target is a URL from config.yml's urls.
MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
AUTOLINK = re.compile(r"<((?:https?://|mailto:)?[^<>\s]+)>")


@dataclass(frozen=True)
class Article:
    """One helpcenter article.

    Attributes:
        id: Slug used in payloads, test files and URLs.
        title: The title exactly as published.
        category: Helpcenter category.
        intents: The intents this article answers.
        body: Article text in Markdown.
        url: The article's public address, when known.
        popularity: The helpcenter's reader count label ("enkele", "weinig"), if any.
        path: The file it was read from.
    """

    id: str
    title: str
    category: str
    intents: tuple[str, ...]
    body: str
    url: str | None
    popularity: str | None
    path: Path

    def plain_text(self, urls: Mapping[str, str | None]) -> str:
        """The body as chat text: links written out so any client can make them clickable.

        Args:
            urls: config.yml's urls, for links whose target is "setting:NAME".
        """

        def link(match: re.Match[str]) -> str:
            text, target = match.group(1), match.group(2)
            if target.startswith("setting:"):
                resolved = urls.get(target.removeprefix("setting:"))
                return f"{text} ({resolved})" if resolved else text
            target = target.removeprefix("mailto:")
            if target.removeprefix("https://") == text or target == text:
                return target
            return f"{text} ({target})"

        text = MARKDOWN_LINK.sub(link, self.body)
        return AUTOLINK.sub(lambda m: m.group(1).removeprefix("mailto:"), text)

    def setting_links(self) -> list[str]:
        """Names of the config.yml urls this article links to."""
        return [
            target.removeprefix("setting:")
            for _, target in MARKDOWN_LINK.findall(self.body)
            if target.startswith("setting:")
        ]


def split_front_matter(text: str, path: Path) -> tuple[str, str]:
    """Split a Markdown file into its front matter and body."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ProjectError([Problem(path, 1, "must start with '---' and YAML front matter")])
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]).strip()
    raise ProjectError([Problem(path, 1, "front matter is not closed with '---'")])


def load_article(path: Path) -> Article:
    """Read one article file, checking its front matter.

    Raises:
        ProjectError: naming the file and line of each problem.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProjectError([Problem(path, None, f"not UTF-8 text: {exc.reason}")]) from exc
    front, body = split_front_matter(text, path)
    doc = parse_yaml(front, path, first_line=2)
    meta = doc.data
    if not isinstance(meta, dict):
        raise ProjectError([Problem(path, 2, "front matter must be a mapping")])
    problems = [
        doc.problem((key,), f"unknown front matter key {key!r}")
        for key in meta
        if key not in REQUIRED_KEYS + OPTIONAL_KEYS
    ]
    problems += [
        Problem(path, 2, f"front matter misses {key!r}") for key in REQUIRED_KEYS if key not in meta
    ]
    for key in ("id", "title", "category"):
        if key in meta and (not isinstance(meta[key], str) or not meta[key].strip()):
            problems.append(doc.problem((key,), f"{key} must be non-empty text"))
    if isinstance(meta.get("id"), str) and not ID_PATTERN.match(meta["id"]):
        problems.append(doc.problem(("id",), "id must be a slug such as 'betalen-met-ideal'"))
    intents = meta.get("intents")
    if "intents" in meta and (
        not isinstance(intents, list) or not all(isinstance(i, str) for i in intents)
    ):
        problems.append(doc.problem(("intents",), "intents must be a list of intent names"))
    for key in ("url", "popularity"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            problems.append(doc.problem((key,), f"{key} must be text or null"))
    if not body:
        problems.append(Problem(path, None, "the article has no text"))
    if problems:
        raise ProjectError(problems)
    return Article(
        id=meta["id"],
        title=meta["title"].strip(),
        category=meta["category"],
        intents=tuple(intents or ()),
        body=body,
        url=meta.get("url"),
        popularity=meta.get("popularity"),
        path=path,
    )


@dataclass(frozen=True)
class KnowledgeBase:
    """All articles, looked up by id or by the intent they answer."""

    articles: tuple[Article, ...]

    def by_id(self, article_id: str) -> Article | None:
        """The article with this id, if any."""
        return next((a for a in self.articles if a.id == article_id), None)

    def for_intent(self, intent: str) -> Article | None:
        """The article that answers `intent`, if any."""
        return next((a for a in self.articles if intent in a.intents), None)

    @property
    def intents(self) -> set[str]:
        """Every intent some article answers."""
        return {intent for article in self.articles for intent in article.intents}

    def for_training(self) -> list[ArticleText]:
        """What the NLU learns from the articles: intents, titles and text."""
        return [ArticleText(a.intents, a.title, a.body) for a in self.articles]


def load_knowledge(project_dir: Path) -> KnowledgeBase:
    """Load every faq/*.md file, collecting the problems of all of them.

    Raises:
        ProjectError: with every problem found, or when two files share an id or intent.
    """
    problems: list[Problem] = []
    articles: list[Article] = []
    for path in sorted((project_dir / FAQ_DIR).glob("*.md")):
        try:
            articles.append(load_article(path))
        except ProjectError as exc:
            problems += exc.problems
    seen_ids: dict[str, Path] = {}
    seen_intents: dict[str, Path] = {}
    for article in articles:
        if article.id in seen_ids:
            problems.append(
                Problem(
                    article.path, 2, f"id {article.id!r} is also used by {seen_ids[article.id]}"
                )
            )
        seen_ids[article.id] = article.path
        for intent in article.intents:
            if intent in seen_intents:
                problems.append(
                    Problem(
                        article.path,
                        2,
                        f"intent {intent!r} is also answered by {seen_intents[intent]}",
                    )
                )
            seen_intents[intent] = article.path
    if problems:
        raise ProjectError(problems)
    return KnowledgeBase(tuple(articles))
