"""`python -m sandbox [--scenario FILE]`: the sandbox in the foreground until Ctrl-C or SIGTERM.

It prints the `export` lines that send any AWS tool in another shell to it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from sandbox.config_sim import ConfigSimulator
from sandbox.local_aws import Sandbox


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Run moto and the AWS Config simulator on 127.0.0.1 until interrupted.",
    )
    parser.add_argument(
        "--scenario", type=Path, help="a state document to load (e.g. sandbox/scenarios/*.json)"
    )
    parser.add_argument(
        "--config-port", type=int, default=0, help="port of the Config simulator (default: free)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    sim = ConfigSimulator(port=args.config_port)
    if args.scenario is not None:
        try:
            sim.load_state(json.loads(args.scenario.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            print(f"cannot load scenario {args.scenario}: {exc}", file=sys.stderr)
            return 2

    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    with Sandbox(sim) as sandbox:
        print("# Paste into another shell to point AWS tools at the sandbox:")
        print("unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN")
        for name, value in sandbox.env().items():
            print(f"export {name}={shlex.quote(value)}")
        print(
            f"# Config simulator state: curl {sim.endpoint_url}/_sim/state  (Ctrl-C stops)",
            flush=True,
        )
        stopping.wait()
    print("# sandbox stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
