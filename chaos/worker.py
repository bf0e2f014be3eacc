"""`python -m chaos.worker`: the function's process in a chaos run, one invocation, killable.

It imports the function (a cold start), says it is ready, waits for the go line, runs the real
handler once and prints its summary (or the exception that escaped it). Logs go to stderr so that
stdout carries only this protocol (and Powertools' metric lines, which the driver skips).
"""

from __future__ import annotations

import json
import sys
import traceback

from chaos.harness import ERROR, GO, READY, RESULT, FakeContext, stream_handler


def main() -> int:
    from config_notifier import handler  # noqa: PLC0415 - after the environment is in place

    stream_handler().setStream(sys.stderr)
    print(READY, flush=True)
    command = sys.stdin.readline().split()
    if len(command) != 2 or command[0] != GO:
        print(ERROR + json.dumps(f"expected '{GO} <run id>', got {command!r}"), flush=True)
        return 2
    try:
        summary = handler.lambda_handler(
            {"id": command[1], "detail-type": "Scheduled Event"}, FakeContext()
        )
    except Exception:
        print(ERROR + json.dumps(traceback.format_exc()), flush=True)
        return 1
    print(RESULT + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
