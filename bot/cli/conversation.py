"""Talking to the assistant: `ask`, `chat` and `serve`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from aiohttp import web

from bot.cli import AddCommand
from bot.config.settings import load_settings
from bot.dialogue.assistant import Assistant
from bot.dialogue.messages import BotMessage
from bot.dialogue.policy import ConversationState
from bot.privacy import logs
from bot.web import create_app

CLI_SENDER = "cli"


def print_messages(messages: list[BotMessage], out: TextIO) -> list[str]:
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
        state = turn.state
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


def register(command: AddCommand) -> None:
    """Add `ask`, `chat` and `serve`."""
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
