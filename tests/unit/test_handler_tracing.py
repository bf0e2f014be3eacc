"""X-Ray is loaded only where a trace can be sent: it costs about 0.2 s of every cold start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from config_notifier.handler import tracing_enabled

LAMBDA_DIR = str(Path(__file__).resolve().parents[2] / "lambda")
PROBE = (
    "import sys, config_notifier.handler as h; "
    "print('aws_xray_sdk.core' in sys.modules, hasattr(h, 'tracer'))"
)


def _import_handler(extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(extra_env, PYTHONPATH=LAMBDA_DIR)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_tracing_needs_the_xray_daemon_and_no_opt_out() -> None:
    assert not tracing_enabled({})
    assert tracing_enabled({"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"})
    assert not tracing_enabled(
        {"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000", "POWERTOOLS_TRACE_DISABLED": "true"}
    )


def test_outside_xray_the_handler_does_not_load_the_sdk() -> None:
    # Given no X-Ray daemon, When the handler module is imported, Then X-Ray stays unloaded
    assert _import_handler({}) == "False False"


def test_in_lambda_with_active_tracing_the_handler_is_traced() -> None:
    # Given Lambda's X-Ray daemon address, When the handler is imported, Then it has a tracer
    assert _import_handler({"AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}) == "True True"
