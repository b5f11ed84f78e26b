"""Servers under test: a throw-away copy of the project served by `pcpatrol-bot serve`,
and the bare aiohttp endpoint; both on 127.0.0.1 only, both stopped afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

from bench.common import PROJECT_DIR, wait_for_port

HOST = "127.0.0.1"
PROJECT_FILES = ("config.yml", "responses.yml", "faq", "intents", "models")
# Limits of the bench config: far above what a benchmark's clients on one address send,
# so the rate limiter (config.yml limits) never refuses a benchmark message or socket.
BENCH_LIMITS = {
    "messages_per_minute_per_sender": 10_000,
    "messages_per_minute_per_address": 1_000_000,
    "websockets_per_address": 100_000,
}
BOT = PROJECT_DIR / ".venv" / "bin" / "pcpatrol-bot"


def project_copy(target: Path, with_model: bool = True) -> Path:
    """The project's config, articles, responses and intents (and stored model) in
    `target`, so the benchmark's conversations go to a store of their own; its config
    has the rate limits raised to `BENCH_LIMITS`."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = PROJECT_DIR / name
        if name == "models" and not with_model:
            continue
        if source.is_dir():
            shutil.copytree(source, target / name)
        elif source.exists():
            shutil.copy2(source, target / name)
    config_path = target / "config.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.setdefault("limits", {}).update(BENCH_LIMITS)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), "utf-8")
    return target


def ensure_model() -> None:
    """Train and store the project's model if it is missing or stale, before timing."""
    subprocess.run(
        [str(BOT), "ask", "--project", str(PROJECT_DIR), "hallo"],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )


@contextlib.contextmanager
def serving(
    command: Sequence[str], port: int, log: Path, code: Path | None = None, timeout: float = 120
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server command until the block ends; wait until it accepts connections.

    Its output goes to `log`, which is shown when it fails to start. With `code`, the
    packages bot and actions are imported from that folder instead (an earlier version).
    """
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command),
            cwd=PROJECT_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        try:
            wait_for_port(port, timeout)
        except TimeoutError:
            raise RuntimeError(f"{command[0]} did not start:\n{log.read_text()}") from None
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server we started: SIGINT (aiohttp's and redis-server's clean shutdown),
    then SIGKILL."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# Starts the CLI of whichever code is on the path: `bot.cli.main` since bot/ was grouped
# by concept, `bot.cli` in a baseline checkout from before.
LAUNCH_CLI = """
import importlib, sys
try:
    cli = importlib.import_module("bot.cli.main")
except ModuleNotFoundError:
    cli = importlib.import_module("bot.cli")
sys.exit(cli.main())
"""


def bot_command(project: Path, port: int) -> list[str]:
    """`pcpatrol-bot serve` of the code on PYTHONPATH (this checkout's by default).

    `-P`: without it `python -c` puts the working directory (this checkout) before
    PYTHONPATH, and a baseline would run this checkout's code instead of its own.
    """
    serve = ["serve", "--project", str(project), "--host", HOST, "--port", str(port)]
    return [sys.executable, "-P", "-c", LAUNCH_CLI, *serve]


def bare_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.bare_server", "--port", str(port)]


def lua_script(messages: Sequence[str], conversations: int) -> str:
    """A wrk script: POST Rasa REST bodies, senders cycling over `conversations` ids and
    messages over `messages`; `done` prints the figures as one JSON line."""
    encoded = ",\n".join(_lua_string(json.dumps(m, ensure_ascii=False)) for m in messages)
    return f"""
local messages = {{
{encoded}
}}
local conversations = {conversations}
local counter = 0
local headers = {{["Content-Type"] = "application/json"}}
math.randomseed(6)

request = function()
  counter = counter + 1
  local sender = "bench-" .. (counter % conversations)
  local message = messages[math.random(#messages)]
  local body = '{{"sender": "' .. sender .. '", "message": ' .. message .. '}}'
  return wrk.format("POST", "/webhooks/rest/webhook", headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "errors": %d, "timeouts": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.status, e.timeout))
end
"""


def _lua_string(text: str) -> str:
    level = "="
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def wrk_point(port: int, connections: int, seconds: int, script: Path) -> dict[str, float]:
    """One wrk run (one thread, so the server keeps the other core) as figures."""
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://{HOST}:{port}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("BENCH "))
    raw = json.loads(line.removeprefix("BENCH "))
    seconds_run = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "requests_per_s": raw["requests"] / seconds_run,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": raw["errors"],
        "timeouts": raw["timeouts"],
    }
