"""Memory and start-up of `pcpatrol-bot serve`: peak RSS with the model loaded and after
10,000 conversations, and the time from process start to the first answered request.

    .venv/bin/python -m bench.memory [--conversations 10000] [--baseline DIR]

The server runs on a throw-away copy of the project (its own SQLite file) on a free
127.0.0.1 port; bench/drive.py sends the conversations from a separate process. Start-up
is measured twice: without a stored model (the server trains first and stores it), then
with that model (a normal start). `--baseline DIR` measures the same again with bot/ and
actions/ imported from DIR (an earlier version), one after the other in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import PROJECT_DIR, free_port, table, write_result
from bench.serving import HOST, bot_command, project_copy, stop

START_TIMEOUT = 300


def rss(pid: int) -> dict[str, int]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) * 1024
    return {"rss_bytes": found["VmRSS"], "peak_rss_bytes": found["VmHWM"]}


def first_answer(port: int, started: float, process: subprocess.Popen[bytes]) -> float:
    """Seconds from `started` until the REST channel answers a message."""
    body = json.dumps({"sender": "memory-probe", "message": "hallo"}).encode()
    url = f"http://{HOST}:{port}/webhooks/rest/webhook"
    while time.perf_counter() - started < START_TIMEOUT:
        if process.poll() is not None:
            raise RuntimeError("the server stopped before it answered")
        request = urllib.request.Request(
            url, body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200 and json.loads(response.read()):
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.01)
    raise TimeoutError(f"no answer within {START_TIMEOUT} s")


def start(
    project: Path, log: Path, code: Path | None
) -> tuple[subprocess.Popen[bytes], int, float]:
    """Start the server; return it, its port and the seconds to its first answer."""
    port = free_port()
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            bot_command(project, port), stdout=output, stderr=subprocess.STDOUT, env=env
        )
    try:
        return process, port, first_answer(port, started, process)
    except BaseException:
        stop(process)
        raise


def run(conversations: int, messages: int, clients: int, code: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cold = project_copy(folder / "cold", with_model=False)
        process, _, cold_start = start(cold, folder / "cold.log", code)
        try:
            trained = rss(process.pid)
        finally:
            stop(process)
        # The warm start serves the model the cold start trained: each code its own
        # (a baseline may store another model format, which it would retrain).
        project = project_copy(folder / "warm", with_model=False)
        shutil.copytree(cold / "models", project / "models")
        process, port, warm_start = start(project, folder / "warm.log", code)
        try:
            loaded = rss(process.pid)
            driven = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.drive",
                    "--port",
                    str(port),
                    "--conversations",
                    str(conversations),
                    "--messages",
                    str(messages),
                    "--clients",
                    str(clients),
                ],
                cwd=PROJECT_DIR,
                capture_output=True,
                text=True,
                check=True,
                timeout=3600,
            )
            after = rss(process.pid)
        finally:
            stop(process)
        store = project / "data" / "conversations.sqlite3"
        return {
            "start_to_first_answer_s": {"stored_model": warm_start, "training_first": cold_start},
            "model_loaded": loaded,
            "after_training_first": trained,
            "after_conversations": after,
            "drive": json.loads(driven.stdout.strip().splitlines()[-1]),
            "store_bytes": store.stat().st_size,
        }


def report(figures: dict[str, Any]) -> str:
    loaded, after = figures["model_loaded"], figures["after_conversations"]
    trained = figures["after_training_first"]
    drive = figures["drive"]
    starts = figures["start_to_first_answer_s"]
    rows = [
        ["RSS, model loaded (first answer given)", f"{loaded['rss_bytes'] / 2**20:,.0f} MiB"],
        ["peak RSS, model loaded", f"{loaded['peak_rss_bytes'] / 2**20:,.0f} MiB"],
        [
            "RSS / peak, started without a stored model (trained first)",
            f"{trained['rss_bytes'] / 2**20:,.0f} / {trained['peak_rss_bytes'] / 2**20:,.0f} MiB",
        ],
        [
            f"RSS after {drive['conversations']:,} conversations ({drive['requests']:,} messages)",
            f"{after['rss_bytes'] / 2**20:,.0f} MiB",
        ],
        ["peak RSS after them", f"{after['peak_rss_bytes'] / 2**20:,.0f} MiB"],
        ["start to first answer, stored model", f"{starts['stored_model']:.2f} s"],
        ["start to first answer, training first", f"{starts['training_first']:.2f} s"],
        ["SQLite file after the run", f"{figures['store_bytes'] / 2**20:,.0f} MiB"],
        ["messages per second while driving", f"{drive['requests'] / drive['seconds']:,.0f}"],
        ["failed requests", drive["failures"]],
    ]
    return table(["figure", "value"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=2, help="messages per conversation")
    parser.add_argument("--clients", type=int, default=16, help="conversations at once")
    parser.add_argument(
        "--baseline", type=Path, help="also measure the bot run from this copy of bot/, actions/"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = run(args.conversations, args.messages, args.clients, None)
    print(report(figures))
    failed = figures["drive"]["failures"]
    if args.baseline is not None:
        before = run(args.conversations, args.messages, args.clients, args.baseline)
        figures["baseline"] = {"code": str(args.baseline), **before}
        print(f"\nbaseline code ({args.baseline}):")
        print(report(before))
        failed += before["drive"]["failures"]
    if failed:
        # A run in which requests failed measured something else: record nothing.
        print(f"FAILED: {failed} requests failed; nothing recorded", file=sys.stderr)
        return 1
    print(f"written to {write_result('memory', figures, started)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
