"""Measuring answer quality on a TSV file of messages and the expected outcome."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.config.errors import Problem, ProjectError
from bot.dialogue.assistant import Assistant, Turn
from bot.dialogue.knowledge import KnowledgeBase
from bot.dialogue.policy import ConversationState

ESCALATE, SMALLTALK = "escalate", "smalltalk"
HEADER = ["text", "expected", "kind"]


@dataclass(frozen=True)
class TestCase:
    """One row of a tests file: a message and what should happen.

    Attributes:
        text: The customer's message.
        expected: An article id, "escalate" or "smalltalk".
        line: Its line in the file.
        kind: The optional third column: what sort of message it is ("long",
            "typo", ...), for figures per kind.
    """

    text: str
    expected: str
    line: int
    kind: str = ""


@dataclass(frozen=True)
class Outcome:
    """What the bot did with one test case."""

    case: TestCase
    action: str
    article: str | None
    options: tuple[str, ...]
    intent: str | None
    confidence: float

    @property
    def correct(self) -> bool:
        """Whether the bot did what the row expects."""
        if self.case.expected in (ESCALATE, SMALLTALK):
            return self.action == self.case.expected
        return self.action == "answer" and self.article == self.case.expected


@dataclass
class Report:
    """Answer quality over a set of test cases."""

    outcomes: list[Outcome] = field(default_factory=list)

    def _share(self, hits: int, total: int) -> float:
        return hits / total if total else 0.0

    @property
    def article_rows(self) -> list[Outcome]:
        """Rows that expect an article."""
        return [o for o in self.outcomes if o.case.expected not in (ESCALATE, SMALLTALK)]

    def metrics(self) -> dict[str, float | int]:
        """The figures: accuracy, wrong answers, escalation recall, smalltalk accuracy."""
        articles = self.article_rows
        escalate = [o for o in self.outcomes if o.case.expected == ESCALATE]
        smalltalk = [o for o in self.outcomes if o.case.expected == SMALLTALK]
        wrong = [o for o in self.outcomes if o.action == "answer" and o.article != o.case.expected]
        clarified = [o for o in articles if o.action == "clarify" and o.case.expected in o.options]
        return {
            "rows": len(self.outcomes),
            "answer_accuracy": self._share(sum(o.correct for o in articles), len(articles)),
            "wrong_answer_rate": self._share(len(wrong), len(self.outcomes)),
            "escalation_recall": self._share(sum(o.correct for o in escalate), len(escalate)),
            "smalltalk_accuracy": self._share(sum(o.correct for o in smalltalk), len(smalltalk)),
            "clarified_with_right_option": self._share(len(clarified), len(articles)),
        }

    def correct_by_kind(self) -> dict[str, tuple[int, int]]:
        """Per kind of message (the tests file's third column): rows right, rows."""
        tally: dict[str, tuple[int, int]] = {}
        for outcome in self.outcomes:
            if outcome.case.kind:
                right, total = tally.get(outcome.case.kind, (0, 0))
                tally[outcome.case.kind] = (right + outcome.correct, total + 1)
        return tally

    def failures(self) -> list[Outcome]:
        """Every row the bot got wrong, wrong answers first."""
        wrong = [o for o in self.outcomes if not o.correct]
        return sorted(wrong, key=lambda o: (o.action != "answer", o.case.line))


def read_tests(path: Path, valid: Iterable[str]) -> list[TestCase]:
    """Read `text<TAB>expected[<TAB>kind]` rows; a header row of those names is skipped.

    Raises:
        ProjectError: naming the line of every malformed row or unknown label.
    """
    labels = {*valid, ESCALATE, SMALLTALK}
    cases: list[TestCase] = []
    problems: list[Problem] = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError([Problem(path, None, f"cannot read: {exc}")]) from exc
    for number, row in enumerate(rows, start=1):
        if not row or (number == 1 and row in (HEADER[:2], HEADER)):
            continue
        if len(row) not in (2, 3) or not row[0].strip():
            problems.append(Problem(path, number, "expected 'text<TAB>expected[<TAB>kind]'"))
        elif row[1].strip() not in labels:
            problems.append(
                Problem(
                    path,
                    number,
                    f"unknown label {row[1]!r}: use an article id, 'escalate' or 'smalltalk'",
                )
            )
        else:
            kind = row[2].strip() if len(row) == 3 else ""
            cases.append(TestCase(row[0], row[1].strip(), number, kind))
    if problems:
        raise ProjectError(problems)
    return cases


def outcome_of(case: TestCase, turn: Turn, knowledge: KnowledgeBase) -> Outcome:
    """Summarise a turn for the report."""

    def article_id(intent: str | None) -> str | None:
        article = knowledge.for_intent(intent) if intent else None
        return article.id if article else None

    decision = turn.decision
    return Outcome(
        case=case,
        action=decision.kind,
        article=article_id(decision.intent) if decision.kind == "answer" else None,
        options=tuple(article_id(i) or i for i in decision.options),
        intent=turn.parse.intent,
        confidence=turn.parse.confidence,
    )


async def evaluate(assistant: Assistant, cases: list[TestCase]) -> Report:
    """Judge each case as the first message of a new conversation."""
    report = Report()
    for case in cases:
        turn = await assistant.handle("evaluate", case.text, ConversationState())
        report.outcomes.append(outcome_of(case, turn, assistant.project.knowledge))
    return report
