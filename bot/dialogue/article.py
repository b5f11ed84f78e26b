"""One helpcenter article: its text as published, and as the customer reads it in the chat."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

# [text](target) and <autolink>; a "setting:NAME" target is a URL from config.yml's urls.
MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
AUTOLINK = re.compile(r"<((?:https?://|mailto:)?[^<>\s]+)>")
SPACE_BEFORE_MARK = re.compile(r"\s+([?!:;,])")
# One full stop at the end of a title; an ellipsis stays.
FINAL_STOP = re.compile(r"(?<!\.)\.$")
# What an answer leads to: "person" offers the customer a colleague with the answer.
Next = Literal["person"]


@dataclass(frozen=True)
class Edit:
    """A wording change between the published text and what the chat shows.

    Attributes:
        published: The words as published (they must occur in the title or the text).
        shown: What the chat shows instead.
        reason: Why, for the next maintainer (a doubled word, "je" where the bot says "u").
    """

    published: str
    shown: str
    reason: str


@dataclass(frozen=True)
class Article:
    """One helpcenter article.

    Attributes:
        id: Slug used in payloads, test files and URLs.
        title: The title exactly as published.
        category: Helpcenter category.
        intents: The intents this article answers.
        body: Article text in Markdown, as published.
        url: The article's public address, when known.
        popularity: The helpcenter's reader count label ("enkele", "weinig"), if any.
        path: The file it was read from.
        excerpt: The text is the start of a longer article (the source breaks off).
        next: What the answer offers besides "Heeft dit geholpen?" ("person": a colleague,
            for an article that sends the customer to one).
        edits: The wording changes the chat shows, each with its reason.
    """

    id: str
    title: str
    category: str
    intents: tuple[str, ...]
    body: str
    url: str | None
    popularity: str | None
    path: Path
    excerpt: bool = False
    next: Next | None = None
    edits: tuple[Edit, ...] = field(default=())

    @property
    def shown_title(self) -> str:
        """The title as the chat shows it: the edits applied, and typography only cleaned
        (no space before "?" or ":", no final full stop, single spaces)."""
        title = " ".join(self._edited(self.title).split())
        return FINAL_STOP.sub("", SPACE_BEFORE_MARK.sub(r"\1", title))

    def plain_text(self, urls: Mapping[str, str | None]) -> str:
        """The body as chat text: the edits applied, links written out so any client can
        make them clickable.

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

        text = MARKDOWN_LINK.sub(link, self._edited(self.body))
        return AUTOLINK.sub(lambda m: m.group(1).removeprefix("mailto:"), text)

    def setting_links(self) -> list[str]:
        """Names of the config.yml urls this article links to."""
        return [
            target.removeprefix("setting:")
            for _, target in MARKDOWN_LINK.findall(self.body)
            if target.startswith("setting:")
        ]

    def _edited(self, text: str) -> str:
        for edit in self.edits:
            text = text.replace(edit.published, edit.shown)
        return text
