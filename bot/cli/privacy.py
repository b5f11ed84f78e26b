"""Erasing customers' data: `forget`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bot.cli import AddCommand
from bot.config.settings import load_settings
from bot.privacy.forget import URL_ENV, ForgetError, forget_senders


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


def register(command: AddCommand) -> None:
    """Add `forget`."""
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
