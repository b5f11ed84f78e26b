"""Scaffolding a new intent: its training file, and the article that answers it."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config.errors import Problem, ProjectError
from bot.dialogue.article import Article
from bot.nlu import INTENT_NAME, INTENTS_DIR

INTENTS_LINE = re.compile(r"^intents:\s*\[(?P<names>[^\]]*)\]\s*$", re.MULTILINE)

TEMPLATE = """\
# {name}: what customers write when they mean this. Aim for 25 or more examples:
# formal (u) and informal (je), fragments of one to three words, typos, the words
# customers use instead of the article's, long messages with context, and English.
# Then: pcpatrol-bot validate, and pcpatrol-bot evaluate to see what it changes.
version: "3.1"
nlu:
- intent: {name}
  examples: |
{examples}"""


def new_intent(project_dir: Path, name: str, article: Article | None) -> Path:
    """Write intents/NAME.yml (with the article's title as its first example) and add
    NAME to the article's front matter.

    Raises:
        ProjectError: for a bad name, an existing file, or a front matter it cannot edit.
    """
    path = project_dir / INTENTS_DIR / f"{name}.yml"
    if not INTENT_NAME.match(name):
        raise ProjectError(
            [Problem(path, None, f"bad intent name {name!r}; use lower_case_with_underscores")]
        )
    if path.exists():
        raise ProjectError([Problem(path, None, "already exists")])
    examples = [article.title] if article else []
    lines = "".join(f"    - {example}\n" for example in examples)
    if article is not None:
        _add_to_article(article, name)
    path.write_text(TEMPLATE.format(name=name, examples=lines), encoding="utf-8")
    return path


def _add_to_article(article: Article, name: str) -> None:
    text = article.path.read_text(encoding="utf-8")
    match = INTENTS_LINE.search(text)
    if match is None:
        raise ProjectError(
            [
                Problem(
                    article.path,
                    None,
                    "cannot find a one-line 'intents: [...]' in the front matter to add to",
                )
            ]
        )
    names = [n.strip() for n in match.group("names").split(",") if n.strip()]
    if name not in names:
        names.append(name)
    line = f"intents: [{', '.join(names)}]"
    article.path.write_text(text[: match.start()] + line + text[match.end() :], encoding="utf-8")
