"""The function in a process of its own, as a Lambda execution environment is one: its memory is
its own, it can be SIGKILLed mid-run (as Lambda does at a timeout or a crash), and two can run at
once (overlapping schedule ticks).

`python -m sandbox.lambda_process` imports the function (the cold start), says it is ready, then
runs one invocation per line on stdin, warm after the first, and answers each with one result
line: the run's summary or the error that escaped it, its log records, its duration and the
process's peak memory (what Lambda's REPORT line says). `HandlerProcess` is the driving side;
a tool with a process of its own (bench/worker.py) calls `serve` from its main.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import resource
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from sandbox.lambda_runtime import (
    REMAINING_MS,
    ExecutionEnvironment,
    Handler,
    RunResult,
    stream_handler,
)

ROOT = Path(__file__).resolve().parents[1]
READY, RESULT = "LAMBDA-READY", "LAMBDA-RESULT "
# The function's package (as Lambda puts it on the path) and the sandbox itself.
PYTHONPATH = f"{ROOT / 'lambda'}{os.pathsep}{ROOT}"


class HandlerProcess:
    """The driving side: start the process, tell it to run, read its result, or kill it."""

    def __init__(
        self,
        environment: Mapping[str, str],
        *,
        module: str = "sandbox.lambda_process",
        args: Sequence[str] = (),
    ) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env={**_inherited(), **environment, "PYTHONPATH": PYTHONPATH},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        # A thread reads stdout line by line, so a read can wait with a timeout, and notes when
        # the invocation under way has answered.
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._answered = threading.Event()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def ready(self, timeout: float = 60) -> None:
        """Wait until the process has imported the function (its cold start)."""
        line = self._next_line(timeout, prefixes=(READY,))
        if line is None or line.strip() != READY:
            raise RuntimeError(f"the function's process did not start: {self._stderr_tail()}")

    def go(self, run_id: str, remaining_ms: int = REMAINING_MS) -> None:
        """Start one invocation; `result()` waits for it."""
        stdin = self._process.stdin
        if stdin is None:
            raise RuntimeError("the function's process has no stdin")
        self._answered.clear()
        stdin.write(json.dumps({"id": run_id, "remaining_ms": remaining_ms}) + "\n")
        stdin.flush()

    def result(self, timeout: float | None = 120) -> RunResult:
        """The started invocation's result; killed if the process died or hung (then killed)."""
        line = self._next_line(timeout, prefixes=(RESULT,))
        if line is None:
            if self._process.poll() is None:  # hung: Lambda would end it at its timeout
                self._process.kill()
                self._process.wait()
                return RunResult(None, f"the function hung for {timeout} s", killed=True)
            code = self._process.wait()
            if code < 0:
                return RunResult(None, None, killed=True)
            return RunResult(None, f"the function's process exited {code} without a result")
        return RunResult.from_json(json.loads(line[len(RESULT) :]))

    def invoke(
        self, run_id: str, remaining_ms: int = REMAINING_MS, timeout: float | None = None
    ) -> RunResult:
        """One invocation, waited for (by default as long as it takes)."""
        self.go(run_id, remaining_ms)
        return self.result(timeout)

    def running(self) -> bool:
        """The process is up and the invocation under way (if any) has not answered yet."""
        return self._process.poll() is None and not self._answered.is_set()

    def kill(self) -> bool:
        """SIGKILL, as Lambda does at a timeout or a crash; True if it was still running."""
        alive = self.running()
        if alive:
            self._process.kill()
            self._process.wait()
        return alive

    def finish(self, timeout: float = 120) -> RunResult:
        """The started invocation's result (or how the process ended), then the process stops."""
        try:
            return self.result(timeout)
        finally:
            self.stop()

    def stop(self, timeout: float = 30) -> None:
        """No more invocations: the process ends (killed if it does not within `timeout`)."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):  # it is gone already
                self._process.stdin.close()
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout)  # it has read to the end of the output
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()

    def _next_line(self, timeout: float | None, prefixes: tuple[str, ...]) -> str | None:
        """The next protocol line; None at the end of the output or after `timeout` seconds."""
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                return None
            if line is None:
                self._lines.put(None)  # the end stays the end for the next reader
                return None
            if line.startswith(prefixes):
                return line.rstrip("\n")

    def _pump(self) -> None:
        stdout = self._process.stdout
        if stdout is not None:
            for line in stdout:
                if line.startswith(RESULT):
                    self._answered.set()
                self._lines.put(line)
        self._answered.set()
        self._lines.put(None)

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-2000:]


def _inherited() -> dict[str, str]:
    """The parent's environment without anything that could reach a real AWS account."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def peak_rss_kb() -> int:
    """This process's own peak resident memory, in KiB.

    Linux's VmHWM belongs to the process's address space, which exec replaces. getrusage's
    ru_maxrss does not start again at exec: a process started by a large one (the benchmark holds
    the whole simulated organization) would report its parent's size, not its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def serve(
    handler: Handler | None = None,
    *,
    before: Callable[[], None] | None = None,
    measure: Callable[[], Mapping[str, Any]] | None = None,
) -> int:
    """The process side: one invocation per line on stdin until it closes.

    `before` runs ahead of each invocation and `measure` after it, outside its duration (the
    benchmark resets and reads its request counters with them).
    """
    # Logs outside an invocation go to stderr: stdout carries only this protocol.
    stream_handler().setStream(sys.stderr)
    print(READY, flush=True)
    with ExecutionEnvironment(handler=handler) as function:
        for line in sys.stdin:
            command = json.loads(line)
            if before is not None:
                before()
            result = function.invoke(command["id"], remaining_ms=command["remaining_ms"])
            measured = dict(measure()) if measure is not None else {}
            result = replace(result, peak_rss_mib=peak_rss_kb() / 1024, measured=measured)
            print(RESULT + json.dumps(result.to_json()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve())
