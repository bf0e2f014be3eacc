"""A run's tasks on an executor that outlives the run: the run ends after all of them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest

from config_notifier import run as run_module
from config_notifier import survey
from config_notifier.model import Kind
from config_notifier.settings import Settings
from config_notifier.stored import RegionSnapshot

SETTINGS = Settings.from_env(
    {
        "SNAPSHOT_TABLE_NAME": "snapshot",
        "TOPIC_ARN_PREFIX": "arn:aws:sns:us-east-1:123456789012:deployments-",
        "REGIONS": "us-east-1",
    }
)


class _EmptySnapshot:
    def load_region(self, region: str, admin: str = "") -> RegionSnapshot:
        return RegionSnapshot({}, {})


def test_a_run_that_fails_still_waits_for_the_tasks_it_started() -> None:
    # Given an executor kept across invocations, and a run whose account packs page slowly
    finished = threading.Event()

    def slow_account_packs(*_: Any) -> list[Any]:
        time.sleep(0.2)
        finished.set()
        return []

    def broken_org_rules(*_: Any) -> list[Any]:
        raise RuntimeError("an unexpected failure")

    sources = {
        Kind.ACCOUNT_PACK: slow_account_packs,
        Kind.ORG_RULE: broken_org_rules,
        Kind.ORG_PACK: lambda *_: [],
    }
    with ThreadPoolExecutor(max_workers=4) as kept:
        deps = run_module.Dependencies(
            config_client=lambda region: mock.Mock(),
            snapshot=_EmptySnapshot(),  # type: ignore[arg-type]
            publisher=mock.Mock(),
            executor=kept,
        )
        # When the run fails while the account packs still page
        with (
            mock.patch.dict(survey.SOURCES, sources),
            pytest.raises(RuntimeError, match="an unexpected failure"),
        ):
            run_module.run(
                SETTINGS, deps, now=datetime.now(UTC), run_id="r", deadline=time.monotonic() + 60
            )
        # Then it ended only after that read did: nothing of it works on into the next invocation
        assert finished.is_set()


def test_tasks_return_their_results() -> None:
    # Given a run's tasks on a kept executor
    with ThreadPoolExecutor(max_workers=2) as kept:
        tasks = survey.Tasks(kept)
        # When a task is submitted with arguments
        future = tasks.submit(pow, 2, 10)
        # Then its future holds the function's result
        assert future.result() == 1024
