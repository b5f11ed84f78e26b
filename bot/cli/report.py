"""The support team's insights as files: `report`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli import AddCommand
from bot.config.project import load_project
from bot.insights import Insights, gather, period_of
from bot.insights.page import BY
from bot.store import open_store


def cmd_report(args: argparse.Namespace) -> int:
    # Imported here: the report's figures need matplotlib (some 28 MiB), which `serve`
    # and the other commands do not.
    from bot.insights.report import write_report

    project = load_project(args.project)
    try:
        period = period_of(args.since, args.by, project.settings.livechat.timezone)
    except ValueError as exc:
        print(f"pcpatrol-bot report: {exc}", file=sys.stderr)
        return 2

    async def figures() -> Insights:
        store = await open_store(project.settings)
        try:
            return await gather(store, project.knowledge, period)
        finally:
            await store.close()

    insights = asyncio.run(figures())
    title = f"de laatste {args.since.removesuffix('d')} dagen, {BY[args.by]}"
    out = args.out if args.out.is_absolute() else args.project / args.out
    for path in write_report(insights, out, title):
        print(path)
    return 0


def register(command: AddCommand) -> None:
    """Add `report`."""
    report = command(
        "report",
        "Write the insights of a period (what the bot resolved, handoffs, articles, "
        "unanswered questions, livechat) as HTML with PNG charts and a CSV.",
    )
    report.add_argument("--since", default="30d", help="the last N days, e.g. 7d (default 30d)")
    report.add_argument("--by", choices=tuple(BY), default="day", help="per day or per week")
    report.add_argument(
        "--out",
        type=Path,
        default=Path("reports/insights"),
        help="folder (default reports/insights)",
    )
    report.set_defaults(run=cmd_report)
