"""The function's process in the benchmark: runs the real handler once per line on stdin.

Like a Lambda execution environment, it stays up between runs (the first run is cold, the rest
warm) and reports each run's wall time, counts and its peak resident memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import uuid
from dataclasses import dataclass, field

from bench import instrument

RESULT = "BENCH-RESULT "


@dataclass(frozen=True)
class Context:
    remaining_ms: int
    function_name: str = "config-deployment-notifier"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:111111111111:function:bench"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def peak_rss_kb() -> int:
    """This process's own peak resident memory, in KiB.

    Linux's VmHWM belongs to the process's address space, which exec replaces. getrusage's
    ru_maxrss does not start again at exec: a worker forked from the benchmark (which holds the
    whole simulated organization) would report the benchmark's size, not its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> int:
    instrument.install()
    from config_notifier import handler  # noqa: PLC0415 - after the counting session is in

    for line in sys.stdin:
        command = json.loads(line)
        instrument.reset()
        started = time.perf_counter()
        summary = handler.lambda_handler(
            {"id": command["id"]}, Context(remaining_ms=command["remaining_ms"])
        )
        wall = time.perf_counter() - started
        peak_kb = peak_rss_kb()
        result = {
            "wall_s": wall,
            "summary": summary,
            "counts": instrument.snapshot(),
            "peak_rss_mib": peak_kb / 1024,
        }
        print(RESULT + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
