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
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
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
