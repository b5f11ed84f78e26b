"""The agents who log in to the console: `agents add|remove|list`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from bot.cli import AddCommand
from bot.config.settings import Settings, load_settings
from bot.livechat.accounts import AccountError, check_username, hash_password
from bot.store import Agent, open_store


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


def register(command: AddCommand) -> None:
    """Add `agents`."""
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
