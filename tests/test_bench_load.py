"""Smoke test of the load benchmark (bench/load.py): a few widget customers for a few
seconds, run as the README says, must end with no errors and nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO

CUSTOMERS = 6
SECONDS = 5


def run_load(tmp_path: Path, instances: str) -> dict[str, Any]:
    out = tmp_path / "load.json"
    command = [
        sys.executable,
        "-m",
        "bench.load",
        "--customers",
        str(CUSTOMERS),
        "--seconds",
        str(SECONDS),
        "--instances",
        instances,
        "--reconnect-share",
        "1",
        "--out",
        str(out),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    record: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert len(record["scenarios"]) == 1, record["scenarios"]
    found: dict[str, Any] = record["scenarios"][0]
    return found


def check(found: dict[str, Any]) -> None:
    assert found["errors"] == 0, found["error_examples"]
    assert found["lost"] == 0, found["lost_examples"]
    assert found["messages_sent"] > CUSTOMERS
    assert found["replies"] == found["acks"] == found["messages_sent"]
    assert found["checked_in_history"] == found["messages_sent"]
    assert found["reconnects"] > 0
    assert found["history_gaps_on_reconnect"] == 0
    assert found["buttons_answered_without_context"] == 0


def test_one_instance_loses_nothing(tmp_path: Path) -> None:
    found = run_load(tmp_path, "1")
    assert found["scenario"] == "one-sqlite"
    check(found)


def test_two_instances_sharing_redis_lose_nothing(tmp_path: Path) -> None:
    from bot.store import STORES

    if "redis" not in STORES:
        pytest.skip("store.type: redis is not implemented in bot/store yet")
    if not Path("/usr/bin/redis-server").exists():
        pytest.skip("needs /usr/bin/redis-server")
    found = run_load(tmp_path, "2")
    assert found["scenario"] == "two-redis"
    check(found)
    assert found["reconnects_to_other_instance"] == found["reconnects"]


def test_a_message_without_its_stored_reply_counts_as_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(REPO))  # bench/ is not an installed package
    from bench.load import Sent, _stored_problem

    sent = Sent("m1", "kan ik met ideal betalen", None, 0.0, 1.0, True, ["Antwoord", "Vraag"])
    user = {"from": "user", "text": sent.text, "id": "m1"}
    good = [user, {"from": "bot", "text": "Antwoord"}, {"from": "bot", "text": "Vraag"}]
    assert _stored_problem(good, sent) is None
    assert _stored_problem([], sent) == "not in the history"
    assert _stored_problem([user], sent) is not None
    assert _stored_problem([*good[:2], {"from": "user", "text": "x", "id": "m2"}], sent)


def test_a_baseline_server_runs_the_baselines_own_code(tmp_path: Path) -> None:
    # The benchmarks start `serve` from this checkout's folder; with --baseline the
    # code on PYTHONPATH must win over the checkout's own bot/.
    from bench.serving import bot_command

    cli = tmp_path / "bot" / "cli"
    cli.mkdir(parents=True)
    (tmp_path / "bot" / "__init__.py").write_text("")
    (cli / "__init__.py").write_text("")
    (cli / "main.py").write_text("def main():\n    print('baseline code')\n    return 0\n")
    result = subprocess.run(
        bot_command(tmp_path, 1),
        cwd=REPO,
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "baseline code", (result.stdout, result.stderr)
