"""Answer quality on the customer's second message: the reply to an answer.

    .venv/bin/python -m bench.conversation_quality                 # the held-out set
    .venv/bin/python -m bench.conversation_quality --sets conversation_dev
    .venv/bin/python -m bench.conversation_quality --baseline DIR  # the code of DIR too

Each row is a chat of two messages: a question an article answers, then what the
customer types after the answer and "Heeft dit antwoord u geholpen?". Both go through
the whole assistant (`Assistant.handle`), the second with the state the first left.
When the bot does not answer the question with the row's article, the article's
payload is sent instead, so the reply is always judged right after that answer (those
rows are counted as `question_missed`). The reply is judged by what the bot does:

- helped: a yes or a thanks (or a goodbye), the reply to an answer that helped;
- escalate: a colleague is fetched (it did not help, or a person is asked for);
- smalltalk: any short reply of the bot's own;
- an article id: that article is answered (a new question).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.answer_quality import DATA, import_first, print_table, project_copy, use_code
from bench.common import PROJECT_DIR, write_result

SETS = {"conversations": DATA / "conversations.tsv"}
HELPED, ESCALATE, SMALLTALK = "helped", "escalate", "smalltalk"
# The bot's replies that say the answer helped; a goodbye fits a "top, doei" too.
HELPED_REPLIES = frozenset({"affirm", "thanks", "goodbye"})
NOT_AN_ARTICLE = frozenset({HELPED, ESCALATE, SMALLTALK, "clarify", "form"})
# The figures printed per set, before right per kind of reply.
SHOWN = ("right", "wrong_answers", "needless_escalations", "question_missed")


@dataclass(frozen=True)
class Chat:
    """One row: the question, its article, the reply, what the bot should do with it."""

    question: str
    article: str
    reply: str
    expected: str
    kind: str


def read_chats(path: Path) -> list[Chat]:
    """The rows of a conversation set (a header, then five tab-separated columns)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    chats = []
    for line, row in enumerate(rows[1:], 2):
        if not row or not row[0].strip():
            continue
        if len(row) != 5:
            raise SystemExit(f"{path}:{line}: expected 5 columns, found {len(row)}")
        chats.append(Chat(*(cell.strip() for cell in row)))
    return chats


def outcome_of(turn: Any, knowledge: Any) -> str:
    """What the bot did: an article id, "helped", "smalltalk", "escalate" or the kind."""
    decision = turn.decision
    if decision.kind == "answer":
        article = knowledge.for_intent(decision.intent)
        return article.id if article is not None else "answer"
    if decision.kind == "smalltalk":
        helped = decision.intent in HELPED_REPLIES and not turn.parse.reports_trouble
        return HELPED if helped else SMALLTALK
    return str(decision.kind)


def is_right(expected: str, outcome: str) -> bool:
    """Whether the bot did what the reply needs; any reply of its own fits small talk."""
    if expected == SMALLTALK:
        return outcome in (SMALLTALK, HELPED)
    return outcome == expected


async def judge(code_dir: Path, project: Path, sets: dict[str, Path]) -> dict[str, Any]:
    """Load the assistant of `code_dir` on `project` and judge every chat of `sets`."""
    use_code(code_dir)
    assistant_module = import_first("bot.dialogue.assistant", "bot.assistant")
    policy = import_first("bot.dialogue.policy", "bot.policy")
    assistant = assistant_module.Assistant.load(project)
    results: dict[str, Any] = {}
    for name, path in sets.items():
        judged, missed = await judge_chats(assistant, read_chats(path), policy.ConversationState)
        results[name] = figures(judged, missed)
    return results


async def judge_chats(
    assistant: Any, chats: Sequence[Chat], new_state: Callable[[], Any]
) -> tuple[list[tuple[Chat, str]], int]:
    """What `assistant` does with each chat's reply, and how many questions it missed.

    Args:
        assistant: A loaded `Assistant` (of this checkout or a baseline's).
        chats: The rows.
        new_state: That code's `ConversationState`.
    """
    knowledge = assistant.project.knowledge
    missed = 0
    judged: list[tuple[Chat, str]] = []
    for number, chat in enumerate(chats):
        sender = f"chat-{number}"
        first = await assistant.handle(sender, chat.question, new_state())
        if outcome_of(first, knowledge) != chat.article:
            missed += 1
            article = knowledge.by_id(chat.article)
            if article is None:
                raise SystemExit(f"unknown article {chat.article!r} in {chat}")
            first = await assistant.handle(sender, f"/{article.intents[0]}", new_state())
        second = await assistant.handle(sender, chat.reply, first.state)
        judged.append((chat, outcome_of(second, knowledge)))
    return judged, missed


def figures(judged: Sequence[tuple[Chat, str]], missed: int) -> dict[str, Any]:
    """Right per kind and in all; wrong answers, unneeded escalations."""
    by_kind: dict[str, list[bool]] = {}
    for chat, outcome in judged:
        by_kind.setdefault(chat.kind, []).append(is_right(chat.expected, outcome))
    wrong_answers = [
        outcome not in NOT_AN_ARTICLE and outcome != chat.expected for chat, outcome in judged
    ]
    needless = [
        outcome == ESCALATE for chat, outcome in judged if chat.expected in (HELPED, SMALLTALK)
    ]
    return {
        "rows": len(judged),
        "right": _share(is_right(c.expected, o) for c, o in judged),
        "wrong_answers": _share(wrong_answers),
        "needless_escalations": _share(needless),
        "question_missed": missed,
        "right_by_kind": {kind: _share(right) for kind, right in by_kind.items()},
        "wrong": [
            {"reply": c.reply, "expected": c.expected, "outcome": o}
            for c, o in judged
            if not is_right(c.expected, o)
        ],
    }


def _share(values: Any) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="a checkout of the code before")
    parser.add_argument(
        "--sets",
        nargs="*",
        default=list(SETS),
        choices=[*SETS, *sorted(path.stem for path in DATA.glob("conversation*_dev*.tsv"))],
    )
    parser.add_argument("--show-wrong", action="store_true", help="list the dev rows missed")
    args = parser.parse_args(argv)
    sets = {name: SETS.get(name, DATA / f"{name}.tsv") for name in args.sets}
    started = time.perf_counter()
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline is not None:
            project = project_copy(args.baseline, Path(tmp) / "baseline")
            runs["baseline"] = asyncio.run(judge(args.baseline, project, sets))
        use_code(PROJECT_DIR)
        project = project_copy(PROJECT_DIR, Path(tmp) / "now")
        runs["now"] = asyncio.run(judge(PROJECT_DIR, project, sets))
    for name in sets:
        print_table(name, runs, SHOWN, "chats")
        if args.show_wrong and name not in SETS:  # never read the held-out set's misses
            for row in runs["now"][name]["wrong"]:
                print(f"  {row['reply']!r}: expected {row['expected']}, got {row['outcome']}")
    for run in runs.values():
        for name in SETS:
            run.get(name, {}).pop("wrong", None)  # the held-out rows stay unread
    write_result("conversation_quality", runs, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
