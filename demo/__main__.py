"""`python -m demo [--quick] [--accounts N]`: exit status 0 when all it showed checked out."""

from __future__ import annotations

import argparse
import shutil
import sys

from demo.play import DEFAULT_ACCOUNTS, QUICK_ACCOUNTS, Options, run_demo
from demo.scenario import MIN_ACCOUNTS


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Deploy the notifier into the local sandbox and play a scenario, one schedule "
        "tick at a time, showing what every subscriber received.",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=DEFAULT_ACCOUNTS,
        help=f"member accounts in the simulated organization (at least {MIN_ACCOUNTS}; "
        f"default {DEFAULT_ACCOUNTS})",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"a small organization ({QUICK_ACCOUNTS} accounts)"
    )
    args = parser.parse_args(argv)
    if args.accounts < MIN_ACCOUNTS:
        parser.error(f"--accounts must be at least {MIN_ACCOUNTS}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    # Wide enough for an email's lines, narrow enough for a laptop's terminal.
    width = min(max(shutil.get_terminal_size((100, 24)).columns, 80), 120)
    options = Options(accounts=QUICK_ACCOUNTS if args.quick else args.accounts, width=width)
    try:
        return run_demo(options, sys.stdout).exit_code
    except KeyboardInterrupt:
        # The sandbox stopped on the way out; a traceback would only hide that.
        print("\ninterrupted: the sandbox is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
