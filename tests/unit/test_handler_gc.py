"""The cold start imports with the cyclic collector off, and leaves it as it found it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
ENV = {
    "PYTHONPATH": str(LAMBDA),
    "SNAPSHOT_TABLE_NAME": "notifier-snapshot",
    "TOPIC_ARN_PREFIX": "arn:aws:sns:us-east-1:123456789012:deployments-",
    "REGIONS": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
PROBE = """
import gc, sys
if sys.argv[1] == "off":
    gc.disable()
import config_notifier.handler
print(gc.isenabled(), gc.get_freeze_count() > 0)
"""


@pytest.mark.parametrize(("before", "after"), [("on", "True"), ("off", "False")])
def test_importing_the_handler_leaves_the_collector_as_it_was(before: str, after: str) -> None:
    # Given a clean interpreter whose cyclic collector is on (or off)
    # When it imports the handler module, as Lambda's cold start does
    printed = subprocess.run(
        [sys.executable, "-c", PROBE, before], env=ENV, capture_output=True, text=True, check=True
    ).stdout.split()
    # Then the collector is as it was, with what was imported frozen out of its collections
    assert printed == [after, "True"]
