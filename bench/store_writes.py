"""What saving turns costs: this code against an earlier checkout, side by side.

    .venv/bin/python -m bench.store_writes --baseline DIR [--conversations 20000] [--rounds 3]

Fills a fresh store (SQLite file, or a fresh prefix on a private redis-server) with
bench/insights.py's conversations through the store's own save_turn, once with this
checkout's bot/ and once with DIR's, alternating, in separate processes. Records the
wall time and the process's CPU time (the aiosqlite thread included; redis-server's own
CPU is not) of each fill, and the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import PROJECT_DIR, table, write_result
from bench.load import redis_server

AT_ONCE = 32


async def fill(store_type: str, conversations: int, target: str) -> dict[str, float]:
    """Fill one store; run inside the measured code's process."""
    # Imported here: this process's bot/ is the code measured (PYTHONPATH).
    from bench.insights import conversation
    from bot.config.settings import Settings, StoreSettings
    from bot.store import open_store

    if store_type == "sqlite":
        store_settings = StoreSettings(path=target)
    else:
        store_settings = StoreSettings(
            type="redis", redis_url=target, redis_prefix=f"w{os.getpid()}"
        )
    store = await open_store(Settings(project_dir=PROJECT_DIR, store=store_settings))
    try:
        now = time.time()
        wall, cpu = time.perf_counter(), time.process_time()
        for first in range(0, conversations, AT_ONCE):
            numbers = range(first, min(conversations, first + AT_ONCE))
            await asyncio.gather(*(conversation(store, n, now) for n in numbers))
        return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    finally:
        await store.close()


def fill_in(code: Path, store_type: str, conversations: int, target: str) -> dict[str, float]:
    """Fill a store in a process that imports bot/ from `code`."""
    # Run as a file from elsewhere, so that `code` comes first on the path (python -m
    # would put the working directory before it).
    done = subprocess.run(
        [sys.executable, __file__, "--fill", store_type, str(conversations), target],
        cwd=tempfile.gettempdir(),
        env={**os.environ, "PYTHONPATH": f"{code}{os.pathsep}{PROJECT_DIR}"},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"FAILED: the fill with {code} failed:\n{done.stderr}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stores", default="sqlite,redis")
    parser.add_argument("--fill", nargs=3, metavar=("STORE", "N", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fill:
        store_type, conversations, target = args.fill
        print(json.dumps(asyncio.run(fill(store_type, int(conversations), target))))
        return 0
    if args.baseline is None:
        parser.error("--baseline DIR is needed")
    started = time.perf_counter()
    codes = {"this": PROJECT_DIR, "baseline": args.baseline.resolve()}
    runs: dict[str, dict[str, list[dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        redis_url = ""
        for store_type in args.stores.split(","):
            if store_type == "redis" and not redis_url:
                redis_url, _ = stack.enter_context(redis_server(Path(tmp) / "redis"))
            runs[store_type] = {name: [] for name in codes}
            for round_number in range(args.rounds):
                for name, code in codes.items():
                    target = (
                        str(Path(tmp) / f"{name}-{round_number}.sqlite3")
                        if store_type == "sqlite"
                        else redis_url
                    )
                    figures = fill_in(code, store_type, args.conversations, target)
                    runs[store_type][name].append(figures)
                    print(f"{store_type} {name}: {figures}", flush=True)
    results: dict[str, Any] = {
        "conversations": args.conversations,
        "baseline": str(codes["baseline"]),
    }
    rows = []
    for store_type, by_code in runs.items():
        medians = {
            name: {k: statistics.median(r[k] for r in found) for k in ("wall", "cpu")}
            for name, found in by_code.items()
        }
        results[store_type] = {"runs": by_code, "medians": medians}
        for name in codes:
            rows.append(
                [
                    store_type,
                    name,
                    f"{medians[name]['wall']:.1f} s",
                    f"{medians[name]['cpu']:.1f} s",
                    f"{medians[name]['cpu'] / medians['baseline']['cpu']:.2f}",
                ]
            )
    print(table(["store", "code", "fill (wall)", "fill (CPU)", "CPU vs baseline"], rows))
    print(f"written to {write_result('store_writes', results, started)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
