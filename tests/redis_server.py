"""A real redis-server for the tests, started on a free loopback port in a folder of its own."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import pytest
import redis
from helpers import free_port

# How long a starting redis-server may take to answer PING.
START_SECONDS = 10.0


class RedisServer:
    """`redis-server` with the durability the Redis store asks for (appendonly yes), no RDB
    snapshots, data in `folder`; start() again after stop() or kill() reuses the folder,
    the port and so the data.

    Args:
        folder: Where the append-only file and the server's log go.
        port: The port to listen on (a free one by default).
        options: More redis-server options, e.g. ("--appendfsync", "always").
    """

    def __init__(self, folder: Path, port: int | None = None, options: tuple[str, ...] = ()):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not installed: install it (apt-get install redis-server)"
                " or set PCPATROL_TEST_REDIS_URL to a Redis server the tests may use",
                pytrace=False,
            )
        self.binary = binary
        self.folder = folder
        self.port = port or free_port()
        self.options = options
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "yes", "--dir", str(self.folder)]
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*command, *self.options], stdout=log, stderr=subprocess.STDOUT
            )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + START_SECONDS
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited at start: {self.log()}")
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server did not answer: {self.log()}") from None
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        """Shut the server down normally (SIGTERM)."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Kill the server as a crash would (SIGKILL): no shutdown work at all."""
        self._end(signal.SIGKILL)

    def log(self) -> str:
        """What the server wrote."""
        return (self.folder / "redis.log").read_text(encoding="utf-8", errors="replace")

    def _end(self, how: signal.Signals) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(how)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def delete_keys(url: str, prefix: str) -> None:
    """Delete every key that starts with `prefix` (a test's own keys)."""
    with redis.Redis.from_url(url) as client:
        batch: list[bytes | str] = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.unlink(*batch)
                batch.clear()
        if batch:
            client.unlink(*batch)


class CutAfterExec:
    """A TCP proxy in front of Redis that, once armed, passes one transaction's EXEC on
    and then cuts the connection before any reply comes back: the network failing at the
    worst moment, when the client cannot know whether its transaction was applied.

    Args:
        redis_url: The Redis server behind it (host, port and database are used).
    """

    EXEC = b"$4\r\nEXEC\r\n"

    def __init__(self, redis_url: str) -> None:
        behind = urlsplit(redis_url)
        self.redis_host = behind.hostname or "127.0.0.1"
        self.redis_port = behind.port or 6379
        self.database = behind.path
        self.armed = False
        self.cuts = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """The proxy's URL, for the client to connect to."""
        return f"redis://127.0.0.1:{self.port}{self.database}"

    async def __aenter__(self) -> CutAfterExec:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        server_in, server_out = await asyncio.open_connection(self.redis_host, self.redis_port)
        cut = asyncio.Event()

        async def upstream() -> None:
            while data := await client_in.read(65536):
                cutting = self.armed and self.EXEC in data
                if cutting:
                    self.armed, self.cuts = False, self.cuts + 1
                    cut.set()  # from now on no reply reaches the client
                server_out.write(data)
                await server_out.drain()
                if cutting:
                    await asyncio.sleep(0.2)  # Redis applies the transaction meanwhile
                    return

        async def downstream() -> None:
            while data := await server_in.read(65536):
                if not cut.is_set():
                    client_out.write(data)
                    await client_out.drain()

        tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for writer in (client_out, server_out):
                writer.close()
