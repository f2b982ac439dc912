"""A contender in a process of its own, spoken to in JSON lines (its side is `bench.worker`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.common.paths import LOGS
from bench.common.processes import profiled
from devtools.prepare import REPO


class Worker:
    """A contender's process (`python <argv>`), spoken to in JSON lines (see `bench.worker`).

    Use as a context manager: it starts the process, waits for its "ready", and on the way out
    asks it to stop and kills it if it does not.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        ready_timeout: float = 60,
    ) -> None:
        self.name = name
        self.log_dir = log_dir or LOGS
        self.argv = profiled(f"worker-{name}", [sys.executable, *argv], self.log_dir)
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Worker:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = (self.log_dir / f"worker-{self.name}.log").open("w")
        answers, answer_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                self.argv,
                env={**self.env, "BENCH_ANSWER_FD": str(answer_fd)},
                stdin=subprocess.PIPE,
                stdout=self._log,
                stderr=self._log,
                text=True,
                cwd=REPO,
                pass_fds=(answer_fd,),
                start_new_session=True,  # Ctrl-C reaches the driver, which stops the worker itself
            )
        finally:
            os.close(answer_fd)
        self._answers = os.fdopen(answers, "r")
        self._expect("ready", self.ready_timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        process = self.process
        if process is None:
            return
        self.process = None
        try:
            if process.poll() is None and process.stdin is not None:
                process.stdin.write(json.dumps({"op": "stop"}) + "\n")
                process.stdin.flush()
                process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._answers.close()
        self._log.close()

    def request(self, command: Mapping[str, Any], timeout: float = 180) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._expect(None, timeout)

    def run(self, calls: int, concurrency: int, **extra: Any) -> dict[str, Any]:
        """`calls` timed calls with `concurrency` in flight; the answer of `bench.worker`."""
        return self.request({"op": "run", "calls": calls, "concurrency": concurrency, **extra})

    def _expect(self, key: str | None, timeout: float) -> dict[str, Any]:
        assert self.process is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._answers.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not line or not line[0]:
            tail = (self.log_dir / f"worker-{self.name}.log").read_text(errors="replace")[-3000:]
            state = "timed out" if not line else f"exited ({self.process.poll()})"
            raise RuntimeError(f"worker {self.name} {state}; its log ends:\n{tail}")
        answer: dict[str, Any] = json.loads(line[0])
        if key is not None and key not in answer:
            raise RuntimeError(f"worker {self.name} answered {answer}")
        return answer
