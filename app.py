#!/usr/bin/env python3
"""The CDK app: `npx --no-install cdk synth` (or `make synth`) runs this with the venv's Python.

It reads CDK context once into `AppConfig` (infra/config.py lists every key and refuses any other),
builds the function's
deployment package (infra/bundle.py, no docker), and synthesizes one environment-agnostic stack:
no account or region lookups, so it needs no AWS credentials.
"""

from __future__ import annotations

import sys

from aws_cdk import App

from infra import bundle
from infra.application import add_notifier
from infra.config import AppConfig, ContextError


def main() -> int:
    app = App()
    try:
        config = AppConfig.from_context(
            app.node.try_get_context, present=app.node.get_all_context()
        )
    except ContextError as exc:
        # One readable list of what to fix, not a traceback.
        print(exc, file=sys.stderr)
        return 1
    add_notifier(app, config, bundle.build())
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
