"""Server throughput and latency: the REST channel with the SQLite store beside the bare
aiohttp ceiling, at 1, 16 and 64 concurrent clients, in one run.

    .venv/bin/python -m bench.server [--seconds 10] [--clients 1,16,64] [--baseline DIR]

Both servers run as subprocesses on free 127.0.0.1 ports: `pcpatrol-bot serve` on a
throw-away copy of the project (its own SQLite file) and bench/bare_server.py. The load
generator is Debian's wrk (apt-get install wrk), one thread, with a Lua script that posts
the messages of tests/data/dev.tsv in random order from 1,000 conversations. For each
number of clients the two servers are measured one after the other, so the ratio
compares like with like on a noisy machine. `--baseline DIR` adds a third server: the bot
run from an earlier version of its code (e.g. `git archive COMMIT bot actions | tar -x -C
DIR`), to record a before and after in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import cpu_seconds, dev_messages, free_port, table, write_result
from bench.serving import (
    bare_command,
    bot_command,
    ensure_model,
    lua_script,
    project_copy,
    serving,
    wrk_point,
)

CONVERSATIONS = 1000
TARGET_RATIO_64 = 0.5
WARM_UP_SECONDS = 2
SERVERS = {
    "bot": "pcpatrol-bot serve (SQLite)",
    "baseline": "the same, baseline code",
    "bare": "bare aiohttp (ceiling)",
}


def run(clients: Sequence[int], seconds: int, baseline: Path | None) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("bench.server needs wrk: apt-get install -y wrk")
    ensure_model()
    points: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        project = project_copy(folder / "project")
        script = folder / "load.lua"
        script.write_text(lua_script(dev_messages(), CONVERSATIONS), encoding="utf-8")
        ports = {"bot": free_port(), "bare": free_port()}
        with contextlib.ExitStack() as servers:
            pids = {
                "bot": servers.enter_context(
                    serving(bot_command(project, ports["bot"]), ports["bot"], folder / "bot.log")
                ).pid,
                "bare": servers.enter_context(
                    serving(bare_command(ports["bare"]), ports["bare"], folder / "bare.log")
                ).pid,
            }
            if baseline is not None:
                ports["baseline"] = free_port()
                other = project_copy(folder / "baseline")
                command = bot_command(other, ports["baseline"])
                log = folder / "baseline.log"
                server = servers.enter_context(serving(command, ports["baseline"], log, baseline))
                pids["baseline"] = server.pid
            for port in ports.values():
                wrk_point(port, 4, WARM_UP_SECONDS, script)
            for count in clients:
                point: dict[str, Any] = {"clients": count}
                for name in ("bare", "bot", "baseline"):
                    if name in ports:
                        cpu = cpu_seconds(pids[name])
                        found = wrk_point(ports[name], count, seconds, script)
                        cpu = cpu_seconds(pids[name]) - cpu
                        found["server_cpu_ms_per_request"] = 1000 * cpu / max(1, found["requests"])
                        point[name] = found
                for name in ("bot", "baseline"):
                    if name in point:
                        ratio = point[name]["requests_per_s"] / point["bare"]["requests_per_s"]
                        point[f"{name}_ratio"] = ratio
                points.append(point)
        store = project / "data" / "conversations.sqlite3"
        store_bytes = store.stat().st_size if store.exists() else 0
    return {
        "seconds_per_point": seconds,
        "conversations": CONVERSATIONS,
        "load_generator": "wrk -t1 (Lua script, dev.tsv messages)",
        "baseline": str(baseline) if baseline is not None else None,
        "target": {"clients": 64, "min_ratio": TARGET_RATIO_64},
        "store_bytes_after": store_bytes,
        "points": points,
    }


def report(figures: dict[str, Any]) -> str:
    rows = []
    for point in figures["points"]:
        for name in ("bot", "baseline", "bare"):
            if name not in point:
                continue
            found = point[name]
            ratio = point.get(f"{name}_ratio")
            rows.append(
                [
                    point["clients"],
                    SERVERS[name],
                    f"{found['requests_per_s']:,.0f}",
                    f"{found['p50_ms']:.2f} / {found['p99_ms']:.2f}",
                    f"{ratio:.2f}" if ratio is not None else "1",
                    f"{found['server_cpu_ms_per_request']:.2f}",
                    found["errors"] + found["timeouts"],
                ]
            )
    headers = [
        "clients",
        "server",
        "messages/s",
        "p50 / p99 ms",
        "of the ceiling",
        "server CPU ms/msg",
        "errors",
    ]
    return table(headers, rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="seconds per point (10)")
    parser.add_argument("--clients", default="1,16,64", help="concurrent clients (1,16,64)")
    parser.add_argument(
        "--baseline", type=Path, help="also serve the bot from this copy of bot/ and actions/"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = run([int(c) for c in args.clients.split(",")], args.seconds, args.baseline)
    print(report(figures))
    failed = sum(
        point[name]["errors"] + point[name]["timeouts"]
        for point in figures["points"]
        for name in ("bare", "bot", "baseline")
        if name in point
    )
    if failed:
        # Refused or timed-out requests are not throughput: such a run records nothing.
        print(f"FAILED: {failed} requests erred or timed out; nothing recorded", file=sys.stderr)
        return 1
    print(f"written to {write_result('server', figures, started)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
