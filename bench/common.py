"""What every benchmark shares: the machine, percentiles, tables and the JSON record."""

from __future__ import annotations

import csv
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_DIR / "bench" / "results"
SHARED_DIR = PROJECT_DIR.parent / "shared"
DEV = PROJECT_DIR / "tests" / "data" / "dev.tsv"
# What a benchmark's figures depend on, for the commit they record.
MEASURED = ("bot", "actions", "bench", "intents", "faq", "config.yml", "responses.yml")
DEV2 = PROJECT_DIR / "tests" / "data" / "dev2.tsv"


def dev_messages(path: Path = DEV) -> list[str]:
    """The message column of a dev set (never a held-out set)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row[0] for row in rows[1:] if row and row[0].strip()]


def machine() -> dict[str, Any]:
    """The machine a figure was measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` (0-1) of `values` lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, so the output pastes into the README as it is."""
    cells = [[str(h) for h in headers], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *[line(r) for r in cells[1:]]])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


def write_result(name: str, figures: dict[str, Any], started: float) -> Path:
    """Store a run as bench/results/NAME.json with the machine and the time it took."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    main = sys.modules["__main__"].__spec__
    module = main.name if main is not None else f"bench.{name}"
    record = {
        "benchmark": name,
        "command": f".venv/bin/python -m {module} " + " ".join(sys.argv[1:]),
        "commit": commit(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
        **figures,
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path


def commit() -> str:
    """The git commit measured, with "+changes" when the working tree differs from it."""

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else ""

    head = git("rev-parse", "HEAD") or "unknown"
    changed = git(
        "status", "--porcelain", "--untracked-files=no", "--", *MEASURED, ":!bench/results"
    )
    return f"{head}+changes" if changed else head


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float) -> float:
    """Seconds until something accepts connections on 127.0.0.1:port.

    Raises:
        TimeoutError: when nothing does within `timeout` seconds.
    """
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return time.perf_counter() - start
        except OSError:
            time.sleep(0.01)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
    return ticks / os.sysconf("SC_CLK_TCK")
