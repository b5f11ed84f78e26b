"""The pcpatrol-bot command: ask, chat, serve, train, validate, evaluate, review,
new-intent, agents, forget, report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli import agents, conversation, evaluate, maintenance, privacy, report
from bot.config.errors import ProjectError
from bot.privacy import logs


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="pcpatrol-bot", description=__doc__)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what happens (ids, never content)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        """Add the sub-command `name`; every one takes --project."""
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--project",
            type=Path,
            default=Path("."),
            help="project folder with config.yml (default: current folder)",
        )
        return sub

    # In the order `--help` lists the sub-commands.
    conversation.register(command)
    privacy.register(command)
    maintenance.register(command)
    agents.register(command)
    evaluate.register(command)
    report.register(command)
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
