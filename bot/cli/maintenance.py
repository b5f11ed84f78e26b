"""The maintainer's tools: `train`, `validate`, `review` and `new-intent`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.cli import AddCommand
from bot.config.project import load_project
from bot.dialogue.assistant import Assistant
from bot.dialogue.knowledge import load_knowledge
from bot.handoff.model import NEW_TOPIC
from bot.maintenance import review
from bot.maintenance.scaffold import new_intent
from bot.maintenance.validate import validate_project
from bot.nlu import TrainingData, load_training_data, save, train
from bot.store import open_store


def cmd_train(args: argparse.Namespace) -> int:
    project = load_project(args.project)
    data = load_training_data(args.project)
    model = train(data, articles=project.knowledge.for_training())
    save(model, project.settings.model_file)
    print(
        f"Trained on {len(data.examples)} examples of {len(data.intents)} intents; "
        f"model {model.version} stored in {project.settings.model_file}"
    )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    problems = validate_project(args.project)
    for problem in problems:
        print(problem)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    print(f"{errors} errors, {warnings} warnings")
    return 1 if errors or (warnings and args.fail_on_warnings) else 0


async def _review(assistant: Assistant, args: argparse.Namespace) -> int:
    data = load_training_data(args.project)
    store = await open_store(assistant.project.settings)
    try:
        groups = await review.collect(store, assistant.parser, data)
    finally:
        await store.close()
    items = {item.number: item for group in groups for item in group.items}
    if args.accept:
        return _accept(args, items, data)
    if not items:
        print("Nothing to review: no escalated message that is not a training example yet.")
        return 0
    for index, group in enumerate(groups, start=1):
        print(f"Group {index} ({len(group.items)} messages)")
        for item in group.items:
            label = f", agent's label: {item.label}" if item.label else ""
            print(
                f"  {item.number:>3}. {item.text!r}  [{item.reason}] closest: "
                f"{item.closest} ({item.confidence:.0%}){label}"
            )
    topics = [item for item in items.values() if item.label == NEW_TOPIC]
    if topics:
        print("Candidates for a new article (labelled 'new topic' by an agent):")
        for item in topics:
            print(f"  {item.number:>3}. {item.text!r}")
    print("Add messages as examples with: pcpatrol-bot review --accept 1,2 [--intent NAME]")
    return 0


def _accept(
    args: argparse.Namespace, items: dict[int, review.ReviewItem], data: TrainingData
) -> int:
    try:
        numbers = [int(n) for n in args.accept.split(",") if n.strip()]
    except ValueError:
        print(f"--accept takes numbers such as 1,3 (got {args.accept!r})", file=sys.stderr)
        return 2
    accepted: list[tuple[review.ReviewItem, str]] = []
    for number in numbers:  # check all before changing any file
        item = items.get(number)
        if item is None:
            print(f"no message {number} to accept", file=sys.stderr)
            return 1
        intent = args.intent or item.suggested_intent
        if intent is None or intent not in data.intents:
            print(f"message {number} needs --intent NAME (one of intents/)", file=sys.stderr)
            return 1
        accepted.append((item, intent))
    for item, intent in accepted:
        path, line = review.append_example(data, intent, item.text)
        data = load_training_data(args.project)
        print(f"Added {item.text!r} to {intent} at {path}:{line}")
    print("Check with: pcpatrol-bot validate  (a running server reloads by itself)")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    return asyncio.run(_review(Assistant.load(args.project), args))


def cmd_new_intent(args: argparse.Namespace) -> int:
    article = None
    if args.article:
        article = load_knowledge(args.project).by_id(args.article)
        if article is None:
            print(f"no article {args.article!r} in faq/", file=sys.stderr)
            return 1
    path = new_intent(args.project, args.name, article)
    print(f"Wrote {path}" + (f" and added {args.name} to {article.path}" if article else ""))
    print("Add 25 or more examples, then run: pcpatrol-bot validate")
    return 0


def register(command: AddCommand) -> None:
    """Add `train`, `validate`, `review` and `new-intent`."""
    command("train", "Train the NLU model and store it.").set_defaults(run=cmd_train)
    validate = command("validate", "Check config, articles, responses and intents.")
    validate.add_argument(
        "--fail-on-warnings", action="store_true", help="exit 1 on warnings too (for CI)"
    )
    validate.set_defaults(run=cmd_validate)
    review_cmd = command("review", "Escalated messages, grouped, to add as examples.")
    review_cmd.add_argument("--accept", help="numbers of messages to add, such as 1,3")
    review_cmd.add_argument(
        "--intent",
        help="the intent to add them to (default: the agent's label, else the closest intent)",
    )
    review_cmd.set_defaults(run=cmd_review)
    scaffold = command("new-intent", "Start a new intent file, answered by an article.")
    scaffold.add_argument("name", help="the intent's name, lower_case_with_underscores")
    scaffold.add_argument("--article", help="id of the faq/ article that answers it")
    scaffold.set_defaults(run=cmd_new_intent)
