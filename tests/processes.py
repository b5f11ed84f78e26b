"""Real `pcpatrol-bot serve` processes for tests that need several, or need to kill one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from helpers import CLI, copy_project, free_port

STARTUP_SECONDS = 60.0


def project_with_config(dest: Path, trained: Path, **sections: dict[str, Any]) -> Path:
    """A copy of the trained project at `dest` (model included, so nothing retrains) whose
    config.yml has `sections` merged in, key by key."""
    project = copy_project(dest, trained)
    shutil.copytree(trained / "models", project / "models")
    config_file = project / "config.yml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    for name, values in sections.items():
        config[name] = {**(config.get(name) or {}), **values}
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return project


class ServerProcess:
    """One `pcpatrol-bot serve` on 127.0.0.1, its output in a log file.

    Attributes:
        url: Its base URL.
        process: The running process.
    """

    def __init__(self, project: Path, log: Path, port: int | None = None) -> None:
        self.project = project
        self.log = log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [*command, "--project", str(project)],
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=project,
                env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            )
        self.wait_until_healthy()

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}: {self.output}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if json.loads(response.read()).get("status") == "ok":
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"serve did not answer /health in {STARTUP_SECONDS} s: {self.output}")

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def make_url(self, path: str) -> str:
        """As the aiohttp test client's make_url (for the handoff test helpers)."""
        return f"{self.url}{path}"

    def session(self) -> aiohttp.ClientSession:
        """An HTTP client with this server as its base URL."""
        return aiohttp.ClientSession(base_url=self.url)

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; asserts a clean exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"serve ignored SIGTERM: {self.output}") from None
            assert code == 0, self.output


@contextmanager
def running(project: Path, log: Path) -> Iterator[ServerProcess]:
    """A server for the duration of the block, stopped (or killed) after it."""
    server = ServerProcess(project, log)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            try:
                server.stop()
            finally:
                if server.process.poll() is None:
                    server.kill()
