"""Helpcenter articles: one Markdown file with YAML front matter each, under faq/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config.errors import Problem, ProjectError
from bot.config.yamlfile import YamlDocument, parse_yaml
from bot.dialogue.article import Article, Edit
from bot.nlu import ArticleText

FAQ_DIR = "faq"
REQUIRED_KEYS = ("id", "title", "category", "intents")
OPTIONAL_KEYS = ("url", "links", "popularity", "excerpt", "next", "edits")
NEXT_STEPS = ("person",)
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


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
    if not isinstance(meta.get("excerpt", False), bool):
        problems.append(doc.problem(("excerpt",), "excerpt must be true or false"))
    if meta.get("next") is not None and meta["next"] not in NEXT_STEPS:
        problems.append(doc.problem(("next",), f"next must be one of {', '.join(NEXT_STEPS)}"))
    if not body:
        problems.append(Problem(path, None, "the article has no text"))
    edits = _edits(doc, meta.get("edits"), f"{meta.get('title')}\n{body}", problems)
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
        excerpt=meta.get("excerpt", False),
        next=meta.get("next"),
        edits=edits,
    )


def _edits(
    doc: YamlDocument, given: Any, published: str, problems: list[Problem]
) -> tuple[Edit, ...]:
    """The front matter's wording changes; each must name words the article has."""
    if given is None:
        return ()
    if not isinstance(given, list):
        problems.append(doc.problem(("edits",), "edits must be a list"))
        return ()
    edits = []
    for index, item in enumerate(given):
        where = ("edits", index)
        fields = ("published", "shown", "reason")
        if not isinstance(item, dict) or set(item) != set(fields):
            problems.append(doc.problem(where, "an edit has published, shown and reason"))
        elif not all(isinstance(item[key], str) and item[key].strip() for key in fields):
            problems.append(doc.problem(where, "an edit's published, shown and reason are text"))
        elif item["published"] not in published:
            problems.append(
                doc.problem(where, f"edit: {item['published']!r} is not in the article")
            )
        else:
            edits.append(Edit(item["published"], item["shown"], item["reason"]))
    return tuple(edits)


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
        return set(self.article_ids)

    @property
    def article_ids(self) -> dict[str, str]:
        """Every intent some article answers, to that article's id."""
        return {intent: article.id for article in self.articles for intent in article.intents}

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
