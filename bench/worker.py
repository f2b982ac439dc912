"""The other side of `bench.common.workers.Worker`: a contender that runs in a process of its own.

A benchmark compares contenders (clients, pages, ...) in one run, in alternating rounds. Each
contender lives in its own long-lived process, so it keeps its connections warm between rounds,
does not share an interpreter (or a monkey patch) with the others, and sits idle while another
contender's round runs. The driver sends one JSON command per line on the worker's stdin; the
worker answers one JSON line on a pipe of its own (BENCH_ANSWER_FD; stdout when run by hand).
Anything else the worker prints goes to stderr.

This module imports only the standard library, so an eventlet worker can import it before its
monkey patch.

    # in the worker process (the handler gets the command, returns a JSON-able dict)
    serve_async(handle)   # or serve(handle) for blocking code

    # the usual command: run `calls` calls with `concurrency` in flight, each timed
    {"op": "run", "calls": 2000, "concurrency": 20}
    -> {"latencies": [seconds, ...], "elapsed": seconds, "cpu": seconds, "errors": 0, "first_error": null}

`cpu` is the CPU time the worker process itself spent on the block (all its threads).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

Command = dict[str, Any]
Answer = dict[str, Any]


def _answer_channel() -> Any:
    """Where answers go: the pipe the driver named in BENCH_ANSWER_FD (so a wrapper such as py-spy
    may print on stdout), else stdout. print() inside the worker goes to stderr either way."""
    fd = os.environ.get("BENCH_ANSWER_FD")
    channel = os.fdopen(int(fd) if fd else os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr
    return channel


def _reply(channel: Any, answer: Answer) -> None:
    channel.write(json.dumps(answer) + "\n")
    channel.flush()


def _failure() -> Answer:
    return {"error": traceback.format_exc()}


def serve(handle: Callable[[Command], Answer]) -> None:
    """Answer commands with a blocking handler until stdin closes or the command is "stop"."""
    channel = _answer_channel()
    _reply(channel, {"ready": True})
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("op") == "stop":
            _reply(channel, {"stopped": True})
            return
        try:
            answer = handle(command)
        except Exception:
            answer = _failure()
        _reply(channel, answer)


def serve_async(handle: Callable[[Command], Awaitable[Answer]], setup: Callable[[], Awaitable[Any]]) -> None:
    """Answer commands with a coroutine handler. stdin is read in a thread, so the event loop keeps
    running between commands (heartbeats, the broker's acks)."""

    async def main() -> None:
        channel = _answer_channel()
        await setup()
        _reply(channel, {"ready": True})
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            command = json.loads(line)
            if command.get("op") == "stop":
                _reply(channel, {"stopped": True})
                return
            try:
                answer = await handle(command)
            except Exception:
                answer = _failure()
            _reply(channel, answer)

    asyncio.run(main())


async def closed_loop_async(
    call: Callable[[int], Awaitable[Any]], calls: int, concurrency: int, block_timeout: float = 120
) -> Answer:
    """`calls` calls, `concurrency` at a time: each of `concurrency` users (tasks) makes its share
    one after another (a closed loop), calling `call(user)` with its number (0 to concurrency-1),
    so a user can keep a connection of its own. Latency of each call, in seconds."""
    latencies: list[float] = []
    errors: list[str] = []
    shares = [calls // concurrency + (1 if n < calls % concurrency else 0) for n in range(concurrency)]

    async def user(number: int, share: int) -> None:
        for _ in range(share):
            started = time.perf_counter()
            try:
                await call(number)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - started)

    started, cpu = time.perf_counter(), time.process_time()
    # A call that never comes back (a service that died) fails the round instead of hanging it.
    async with asyncio.timeout(block_timeout):
        await asyncio.gather(*(user(number, share) for number, share in enumerate(shares)))
    elapsed = time.perf_counter() - started
    return {
        "latencies": latencies,
        "elapsed": elapsed,
        "cpu": time.process_time() - cpu,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }
