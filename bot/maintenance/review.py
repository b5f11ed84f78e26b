"""Learning from escalations: what customers asked that the bot could not answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rapidfuzz import fuzz

from bot.handoff.model import NEW_TOPIC
from bot.nlu import IntentParser, TrainingData, normalize
from bot.store import HandoffStore, ReviewQuery

SIMILAR = 80  # token_set_ratio at which two messages are one group
SCAN_LIMIT = 5000


class EscalationSource(HandoffStore, ReviewQuery, Protocol):
    """What review reads from the store: the handoffs, and the messages the bot answered
    by offering a colleague."""


@dataclass
class ReviewItem:
    """One escalated customer message.

    Attributes:
        number: Its number in the listing, for --accept.
        text: The customer's words.
        reason: Why the bot escalated.
        closest: The intent the bot thinks is closest (never out_of_scope).
        confidence: Its confidence.
        label: The intent (or "new_topic") an agent gave it, if any.
    """

    number: int
    text: str
    reason: str
    closest: str
    confidence: float
    label: str | None = None

    @property
    def suggested_intent(self) -> str | None:
        """Where --accept puts it: the agent's label, else the closest intent."""
        if self.label == NEW_TOPIC:
            return None
        return self.label or self.closest


@dataclass
class ReviewGroup:
    """Similar messages, shown together."""

    items: list[ReviewItem] = field(default_factory=list)


async def collect(
    store: EscalationSource, parser: IntentParser, data: TrainingData
) -> list[ReviewGroup]:
    """Escalated messages (handoffs and misunderstood messages), grouped by similarity,
    leaving out what is already a training example."""
    raw: list[tuple[str, str, str | None]] = []
    for handoff in await store.list_handoffs(["waiting", "assigned", "closed"]):
        raw.append((handoff.question, handoff.reason, handoff.label))
    for _, text, _ in await store.offered_escalations(SCAN_LIMIT):
        raw.append((text, "low_confidence", None))
    known = {normalize(text) for text in data.texts()}
    seen: set[str] = set()
    items: list[ReviewItem] = []
    for text, reason, label in raw:
        key = normalize(text)
        if not key or key in known or key in seen or text.startswith("/"):
            continue
        seen.add(key)
        ranking = [m for m in parser.parse(text).ranking if m.intent != "out_of_scope"]
        closest = ranking[0] if ranking else None
        items.append(
            ReviewItem(
                0,
                text,
                reason,
                closest.intent if closest else "",
                closest.score if closest else 0.0,
                label,
            )
        )
    return _group(items)


def similar_groups(texts: Sequence[str]) -> list[list[int]]:
    """The indexes of `texts` grouped by similarity to each group's first text, largest
    group first (ties in order of their first text)."""
    groups: list[tuple[str, list[int]]] = []
    for index, text in enumerate(texts):
        key = normalize(text)
        home = next((g for first, g in groups if fuzz.token_set_ratio(key, first) >= SIMILAR), None)
        if home is None:
            home = []
            groups.append((key, home))
        home.append(index)
    return sorted((g for _, g in groups), key=lambda g: -len(g))


def _group(items: list[ReviewItem]) -> list[ReviewGroup]:
    groups = [
        ReviewGroup([items[i] for i in group])
        for group in similar_groups([item.text for item in items])
    ]
    number = 0
    for group in groups:
        for item in group.items:
            number += 1
            item.number = number
    return groups


def append_example(data: TrainingData, intent: str, text: str) -> tuple[Path, int]:
    """Add `text` to `intent`'s examples in its intents/ file, right after its last
    example, keeping the file's layout and comments.

    Returns:
        The file and the line the example now stands on.

    Raises:
        ValueError: when the intent has no examples to put it beside.
    """
    examples = [e for e in data.examples if e.intent == intent]
    if not examples:
        raise ValueError(f"intent {intent!r} has no examples in intents/")
    path = examples[-1].path  # examples come in file order, lines ascending
    line = max(e.line for e in examples if e.path == path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    previous = lines[line - 1]
    indent = previous[: len(previous) - len(previous.lstrip())]
    # One line, printable characters only: anything else would break the YAML block.
    clean = " ".join("".join(c for c in text if c.isprintable()).split())
    newline = "\n" if previous.endswith("\n") else ""
    if not newline:
        lines[line - 1] = previous + "\n"
    lines.insert(line, f"{indent}- {clean}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path, line + 1
