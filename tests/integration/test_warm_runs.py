"""A warm invocation reuses the execution environment's threads instead of starting its own."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

from bench.scenarios import Shape

SHAPE = Shape(
    accounts=3, regions=("us-east-1", "eu-west-1"), org_rules=2, org_packs=2, account_packs=2
)


def test_a_warm_run_starts_no_thread(notifier, config_sim) -> None:
    # Given an execution environment that has run once (its cold start)
    config_sim.load_state(SHAPE.state())
    with notifier.environment() as function:
        function.invoke("cold").summary_or_raise()
        started: list[str] = []
        real_start: Any = threading.Thread.start

        def record(thread: threading.Thread) -> None:
            started.append(thread.name)
            real_start(thread)

        # When the next schedule tick reaches the same environment
        with mock.patch.object(threading.Thread, "start", record):
            summary = function.invoke("warm").summary_or_raise()
    # Then it read every source of both regions on the threads the first run started (the only
    # threads started are the in-process sandbox's, one per new connection)
    assert summary["api_calls"] == SHAPE.min_list_calls()
    assert summary["failed_sources"] == []
    assert [name for name in started if "process_request_thread" not in name] == []
