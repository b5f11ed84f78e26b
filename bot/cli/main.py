"""The pcpatrol-bot command: ask, chat, serve, train, validate, evaluate, review,
new-intent, agents, forget."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from bot.config.errors import ProjectError
from bot.config.project import load_project
from bot.config.settings import Settings, load_settings
from bot.dialogue.assistant import Assistant
from bot.dialogue.knowledge import load_knowledge
from bot.dialogue.policy import ConversationState
from bot.evaluation.figures import evaluate, read_tests
from bot.handoff.model import NEW_TOPIC
from bot.livechat.accounts import AccountError, check_username, hash_password
from bot.maintenance import review
from bot.maintenance.scaffold import new_intent
from bot.maintenance.validate import validate_project
from bot.nlu import TrainingData, load_training_data, save, train
from bot.privacy import logs
from bot.privacy.forget import URL_ENV, ForgetError, forget_senders
from bot.store import Agent, open_store
from bot.web import create_app

CLI_SENDER = "cli"


def print_messages(messages: list[dict[str, Any]], out: TextIO) -> list[str]:
    """Print bot messages for a person; return the payloads of numbered buttons."""
    payloads: list[str] = []
    for message in messages:
        if message.get("text"):
            print(f"bot> {message['text']}", file=out)
        for button in message.get("buttons", []):
            payloads.append(button["payload"])
            print(f"     {len(payloads)}) {button['title']}", file=out)
    return payloads


async def run_ask(assistant: Assistant, texts: Sequence[str], as_json: bool) -> None:
    """Answer each text as the first message of a new conversation."""
    for text in texts:
        turn = await assistant.handle(CLI_SENDER, text, ConversationState())
        if as_json:
            print(json.dumps(assistant.describe(turn), ensure_ascii=False), flush=True)
        else:
            print_messages(turn.messages, sys.stdout)


async def run_chat(assistant: Assistant, source: TextIO, out: TextIO) -> None:
    """A conversation in the terminal; a number picks a button of the last reply."""
    state = ConversationState()
    print("Stel uw vraag. Typ een nummer om een knop te kiezen; Ctrl-D stopt.", file=out)
    payloads: list[str] = []
    while True:
        print("u> ", end="", file=out, flush=True)
        line = source.readline()
        if not line:
            print(file=out)
            return
        text = line.strip()
        if not text:
            continue
        if text.isdigit() and 1 <= int(text) <= len(payloads):
            text = payloads[int(text) - 1]
        turn = await assistant.handle(CLI_SENDER, text, state)
        payloads = print_messages(turn.messages, out)


def cmd_ask(args: argparse.Namespace) -> int:
    if args.text == "-":
        texts: Sequence[str] = [line.rstrip("\r\n") for line in sys.stdin]
        texts = [t for t in texts if t.strip()]
    else:
        texts = [args.text]
    assistant = Assistant.load(args.project)
    asyncio.run(run_ask(assistant, texts, args.json))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    asyncio.run(run_chat(Assistant.load(args.project), sys.stdin, sys.stdout))
    return 0


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


def cmd_serve(args: argparse.Namespace) -> int:
    settings = load_settings(args.project)
    # Load (and if needed train) before serving, so project errors print as errors;
    # the app serves this same assistant.
    assistant = Assistant.load(args.project, settings)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    print(f"PC Patrol assistant: http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    if args.debug:
        print(
            "Debug logging is on: the log shows what customers write and their e-mail "
            "addresses. Do not leave it on in production.",
            file=sys.stderr,
            flush=True,
        )
    web.run_app(
        create_app(settings, assistant),
        host=host,
        port=port,
        print=None,
        **logs.access_log_options(args.debug),
    )
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    settings = load_settings(args.project)
    url = args.url or os.environ.get(URL_ENV) or None
    try:
        where, results = asyncio.run(forget_senders(settings, args.senders, url))
    except ForgetError as exc:
        print(f"pcpatrol-bot forget: {exc}", file=sys.stderr)
        return 1
    unknown = [r.sender for r in results if not r.records]
    for result in results:
        if not result.records:
            continue
        print(
            f"Forgot {result.sender!r} in {where}: {result.records} records erased "
            "(messages and replies, conversation state, handoffs, mails and webhook calls)"
        )
        if result.closed_handoffs:
            print(f"  open handoffs closed: {', '.join(result.closed_handoffs)}")
    for sender in unknown:
        print(f"pcpatrol-bot forget: no conversation {sender!r} is stored", file=sys.stderr)
    return 1 if unknown else 0


async def _agents(settings: Settings, args: argparse.Namespace) -> int:
    store = await open_store(settings)
    try:
        if args.action == "list":
            for agent in await store.list_agents():
                print(f"{agent.username}\t{agent.display_name}")
            return 0
        username = check_username(args.name)
        if args.action == "remove":
            if not await store.remove_agent(username):
                print(f"no agent {username!r}", file=sys.stderr)
                return 1
            print(f"Removed {username}; their sessions have ended.")
            return 0
        password = _read_password(args.password_stdin)
        display = args.display_name or username
        await store.save_agent(Agent(username, display, hash_password(password)))
        print(f"Agent {username} ({display}) can log in at /agent.")
        return 0
    finally:
        await store.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Wachtwoord: ")
    if getpass.getpass("Nogmaals: ") != password:
        raise AccountError("the passwords differ")
    return password


def cmd_agents(args: argparse.Namespace) -> int:
    if args.action != "list" and not args.name:
        print(f"pcpatrol-bot agents {args.action}: give the agent's NAME", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_agents(load_settings(args.project), args))
    except AccountError as exc:
        print(f"pcpatrol-bot agents: {exc}", file=sys.stderr)
        return 1


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


def cmd_evaluate(args: argparse.Namespace) -> int:
    # Imported here: the reports need matplotlib, which the other commands do not.
    from bot.evaluation import command as evaluation

    if args.folds is not None and args.folds < 2:
        print("pcpatrol-bot evaluate: --folds needs 2 or more", file=sys.stderr)
        return 2
    folds = args.folds
    if folds is None and args.tests is None:
        folds = evaluation.DEFAULT_FOLDS
    if args.tests is not None:
        # Read the tests file first, so a bad row stops the run before cross-validation.
        assistant = Assistant.load(args.project)
        cases = read_tests(args.tests, [a.id for a in assistant.project.knowledge.articles])
    evaluations = []
    figures: dict[str, Any] = {}
    if folds is not None:
        crossval = evaluation.evaluate_folds(args.project, folds)
        evaluations.append(crossval)
        figures[crossval.key] = crossval.figures()
        if not args.json:
            evaluation.print_evaluation(crossval, sys.stdout, show_errors=args.show_errors)
    if args.tests is not None:
        report = asyncio.run(evaluate(assistant, cases))
        metrics = report.metrics()
        tests = evaluation.evaluate_tests_file(assistant, cases, args.tests)
        evaluations.append(tests)
        kinds = report.correct_by_kind()
        by_kind = {kind: right / total for kind, (right, total) in kinds.items()}
        figures[tests.key] = {**metrics, **({"right_by_kind": by_kind} if by_kind else {})}
    if args.tests is not None and not args.json:
        if folds is not None:
            print()
        print(f"{args.tests}: {metrics['rows']} messages")
        for name in (
            "answer_accuracy",
            "wrong_answer_rate",
            "escalation_recall",
            "smalltalk_accuracy",
            "clarified_with_right_option",
        ):
            print(f"  {name.replace('_', ' '):<30} {metrics[name]:7.1%}")
        for kind, (right, total) in sorted(kinds.items()):
            print(f"  right, {kind + ':':<23} {right / total:7.1%} of {total}")
        if args.show_errors:
            for outcome in report.failures():
                got = outcome.article or outcome.action
                print(
                    f"  line {outcome.case.line}: expected {outcome.case.expected}, got {got} "
                    f"({outcome.intent} {outcome.confidence:.2f}): {outcome.case.text}"
                )
        evaluation.print_evaluation(tests, sys.stdout, figures=False)
    out_dir = args.out if args.out is not None else args.project / evaluation.REPORTS_DIR
    listing = sys.stderr if args.json else sys.stdout
    evaluation.write_and_list(evaluations, out_dir, args.project, listing)
    if args.json:
        # One evaluation: its figures (as before for --tests); both: keyed by evaluation.
        shown = next(iter(figures.values())) if len(figures) == 1 else figures
        print(json.dumps(shown, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="pcpatrol-bot", description=__doc__)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what happens (ids, never content)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--project",
            type=Path,
            default=Path("."),
            help="project folder with config.yml (default: current folder)",
        )
        return sub

    ask = command("ask", "Answer one message, or one message per line of stdin with '-'.")
    ask.add_argument("text", help="the message, or - to read messages from stdin")
    ask.add_argument("--json", action="store_true", help="print JSON Lines (DESIGN.md 4)")
    ask.set_defaults(run=cmd_ask)
    command("chat", "Chat with the assistant in the terminal.").set_defaults(run=cmd_chat)
    serve = command("serve", "Serve the website chat, REST channel and demo page.")
    serve.add_argument("--host", help="address to listen on (default: config.yml server.host)")
    serve.add_argument("--port", type=int, help="port (default: config.yml server.port)")
    serve.add_argument(
        "--debug",
        action="store_true",
        help="log at DEBUG, including what customers write and their e-mail addresses "
        "(without it, logs show ids only)",
    )
    serve.set_defaults(run=cmd_serve)
    forget = command(
        "forget",
        "Erase customers' data: each conversation's messages, state, handoffs and mails. "
        "Goes through the running server (POST /admin/forget) when there is one.",
    )
    forget.add_argument("senders", nargs="+", metavar="SENDER", help="a conversation id")
    forget.add_argument(
        "--url",
        help=f"the running server (default: ${URL_ENV}; else config.yml's server address "
        "when a server has the store open)",
    )
    forget.set_defaults(run=cmd_forget)
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
    agents = command("agents", "Manage the agents who log in to the console at /agent.")
    agents.add_argument("action", choices=["add", "remove", "list"])
    agents.add_argument("name", nargs="?", help="the agent's username")
    agents.add_argument("--display-name", help="the name customers see (default: NAME)")
    agents.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin",
    )
    agents.set_defaults(run=cmd_agents)
    evaluate_cmd = command(
        "evaluate",
        "Measure answer quality: k-fold cross-validation over intents/ and/or a TSV of test "
        "messages; write HTML and JSON reports and recommend nlu.answer_threshold.",
    )
    evaluate_cmd.add_argument(
        "--tests",
        type=Path,
        help="rows of text<TAB>expected (article id, escalate, smalltalk)",
    )
    evaluate_cmd.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="stratified K-fold cross-validation over intents/ (default: 5 without --tests)",
    )
    evaluate_cmd.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="folder for report.html, report.json and the PNGs (default: PROJECT/reports)",
    )
    evaluate_cmd.add_argument(
        "--json",
        action="store_true",
        help="print the figures as JSON (keyed by evaluation when both run)",
    )
    evaluate_cmd.add_argument(
        "--show-errors", action="store_true", help="list every message the bot got wrong"
    )
    evaluate_cmd.set_defaults(run=cmd_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the pcpatrol-bot command."""
    args = build_parser().parse_args(argv)
    logs.configure(verbose=args.verbose, debug=getattr(args, "debug", False))
    try:
        code: int = args.run(args)
    except ProjectError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
