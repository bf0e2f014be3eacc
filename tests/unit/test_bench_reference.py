"""The benchmark's reference for S1: boto3 alone with the same requests, run in turns with the
notifier's steady runs, so the notifier's own work is told from pairs that met the same machine."""

from __future__ import annotations

from typing import Any

import pytest

from bench.__main__ import reference_row
from bench.scenarios import S1


def reference(wall_s: float, calls: int = 12) -> dict[str, Any]:
    return {"summary": {"api_calls": calls}, "wall_s": wall_s}


def test_the_notifiers_own_work_is_the_median_of_the_pairs_differences() -> None:
    # Given five notifier runs, each followed by a reference run, and the machine 0.19 s slower
    # from the third reference run on
    walls = [0.104, 0.105, 0.106, 0.302, 0.303]
    references = [reference(w) for w in (0.100, 0.101, 0.298, 0.298, 0.299)]
    # When the reference row is made
    name, text = reference_row(references, walls, S1, latency_ms=30, concurrency=8)
    # Then the notifier's own work is the 4 ms of nearly every pair, not the -192 ms between the
    # medians of the two sets of runs
    assert name == "boto3 alone, same requests"
    assert "0.298 s (3.31x the floor; median of 5, taken in turns" in text
    assert "adds +4 ms (median of the pairs' differences)" in text


def test_a_reference_that_made_other_calls_is_refused() -> None:
    # Given a reference run that made 13 Config calls, not the 12 of a steady run
    references = [reference(0.1), reference(0.1, calls=13)]
    # When the reference row is made
    # Then it says so rather than compare unlike runs
    with pytest.raises(RuntimeError, match=r"made .* Config calls, not 12"):
        reference_row(references, [0.1, 0.1], S1, latency_ms=30, concurrency=8)
