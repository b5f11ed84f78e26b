"""A load generator in its own process: many conversations over the REST channel.

    .venv/bin/python -m bench.drive --port 5005 --conversations 10000 [--messages 2]

Each conversation gets `--messages` messages drawn from tests/data/dev.tsv; `--clients`
conversations run at once. Prints one JSON line: requests, failures, seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Sequence

import aiohttp

from bench.common import dev_messages

HOST = "127.0.0.1"


async def drive(
    port: int, conversations: int, messages: int, clients: int, seed: int = 6
) -> dict[str, float]:
    texts = dev_messages()
    rng = random.Random(seed)
    plan = [[rng.choice(texts) for _ in range(messages)] for _ in range(conversations)]
    url = f"http://{HOST}:{port}/webhooks/rest/webhook"
    failures = 0
    next_conversation = 0
    timeout = aiohttp.ClientTimeout(total=30)

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal failures, next_conversation
        while next_conversation < conversations:
            number = next_conversation
            next_conversation += 1
            for text in plan[number]:
                body = {"sender": f"drive-{seed}-{number}", "message": text}
                async with session.post(url, json=body) as response:
                    await response.read()
                    failures += response.status != 200

    start = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return {
        "conversations": conversations,
        "requests": conversations * messages,
        "failures": failures,
        "seconds": time.perf_counter() - start,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=2, help="messages per conversation")
    parser.add_argument("--clients", type=int, default=16, help="conversations at once")
    args = parser.parse_args(argv)
    figures = asyncio.run(drive(args.port, args.conversations, args.messages, args.clients))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
