"""`python -m chaos` (`make chaos`): the notifier through a scripted organization and every fault.

Starts its own sandbox (moto behind the fault proxy, and the Config simulator), plays the
timeline, prints what was measured against the targets and exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import os
import sys

from chaos.runner import TickRecord, run_chaos
from chaos.timeline import build
from sandbox import Sandbox


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--ticks", type=int, default=240, help="schedule ticks (at least 40)")
    parser.add_argument("--seed", type=int, default=20261122, help="the script's seed")
    parser.add_argument(
        "--max-attempts", type=int, default=3, help="the function's MAX_ATTEMPTS (retries)"
    )
    parser.add_argument("--quiet", action="store_true", help="no line per tick")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="SNS and DynamoDB fail with transient errors only, not throttling (faster)",
    )
    args = parser.parse_args(argv)
    if args.ticks < 40:
        parser.error("--ticks must be at least 40: every fault kind needs its window")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    # Nothing of a real AWS setup may reach the sandbox run.
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    timeline = build(args.ticks, args.seed, quick=args.quick)

    def progress(record: TickRecord) -> None:
        if args.quiet:
            return
        errors = sum(1 for r in record.results if r.error and not r.killed)
        print(
            f"tick {record.index:4d} {record.seconds:5.1f}s {record.mode:<10} "
            f"changes {record.events:3d} "
            f"messages {record.messages:3d} {' '.join(record.faults) or '-'}"
            + (f" [{record.kill}]" if record.kill else "")
            + (f" UNHANDLED ERROR x{errors}" if errors else ""),
            flush=True,
        )

    with Sandbox(fault_proxy=True, seed=args.seed) as sandbox:
        if sandbox.fault_proxy is None:
            raise RuntimeError("the sandbox started without its fault proxy")
        report = run_chaos(
            timeline,
            sandbox.config_sim,
            sandbox.fault_proxy,
            sandbox.env(),
            max_attempts=args.max_attempts,
            progress=progress,
        )
    print()
    print(report.render())
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
