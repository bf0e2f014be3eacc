"""A run's tasks on an executor that outlives the run: the run ends after all of them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from config_notifier.run import _Tasks


def test_a_run_that_fails_still_waits_for_the_tasks_it_started() -> None:
    # Given an executor shared by invocations, and a run with a slow task in flight
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.2)
        finished.set()

    with ThreadPoolExecutor(max_workers=2) as shared:
        # When the run fails while that task still works
        def failing_run() -> None:
            with _Tasks(shared) as tasks:
                tasks.submit(slow)
                raise RuntimeError("the run failed")

        with pytest.raises(RuntimeError, match="the run failed"):
            failing_run()
        # Then the run ended only after its task did: nothing of it works on into the next run
        assert finished.is_set()


def test_tasks_return_their_results() -> None:
    # Given a run's tasks on a shared executor
    with ThreadPoolExecutor(max_workers=2) as shared, _Tasks(shared) as tasks:
        # When a task is submitted with arguments
        future = tasks.submit(pow, 2, 10)
        # Then its future holds the function's result
        assert future.result() == 1024
