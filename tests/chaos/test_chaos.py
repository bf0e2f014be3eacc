"""A short chaos run inside `make test`: 40 schedule ticks of a scripted organization, every fault
kind at least once, the real handler at every tick; what the subscriber received is scored
against the script's truth (`make chaos` runs the long version)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from chaos.runner import Report, run_chaos
from chaos.timeline import FAULT_KINDS, SETTLE_TICKS, Timeline, build
from sandbox import Sandbox
from sandbox.fault_proxy import FaultProxy

TICKS = 40
SEED = 7


@pytest.fixture(scope="module")
def timeline() -> Timeline:
    return build(TICKS, SEED, quick=True)


@pytest.fixture(scope="module")
def report(sandbox: Sandbox, fault_proxy: FaultProxy, timeline: Timeline) -> Iterator[Report]:
    """The chaos run, once for every test below (about 35 s)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            monkeypatch.delenv(name)
        sandbox.config_sim.reset()
        fault_proxy.clear_faults()
        env = {**sandbox.env(), "AWS_ENDPOINT_URL": fault_proxy.url}
        result = run_chaos(timeline, sandbox.config_sim, fault_proxy, env, max_attempts=2)
        print(result.render())  # shown with -s, or when a test below fails
        yield result
        sandbox.config_sim.reset()


def test_the_timeline_has_every_fault_kind_and_fault_free_ticks_at_the_end(timeline: Timeline):
    # Given the short timeline
    # Then every fault kind has a window, and the last ticks are fault-free
    assert {f.kind for t in timeline.ticks for f in t.faults} == set(FAULT_KINDS)
    assert all(not t.faults for t in timeline.ticks[-SETTLE_TICKS:])
    # And every window is followed by a fault-free tick (so a late transition is caught)
    for before, after in zip(timeline.ticks, timeline.ticks[1:], strict=False):
        assert not (before.faults and after.faults), before.index


def test_every_fault_kind_fired(report: Report):
    # Then each fault kind visibly bit at least once (a source failed for its reason, the proxy
    # failed a request, the kill landed mid-run, both overlapping runs completed)
    assert {kind for kind in FAULT_KINDS if not report.fired[kind]} == set()


def test_the_driver_and_the_truth_model_agree_at_every_tick(report: Report):
    # Then the simulator's state and the script's model never disagree, and each region was
    # baselined at tick 0 with no stray message afterwards
    assert report.harness_problems == []


def test_no_transition_is_false(report: Report):
    # Then no subscriber was told of a status the entity did not have at that tick (e.g. a
    # "disappeared" for something that could not be read)
    assert [str(f) for f in report.score.false] == []


def test_every_duplicate_follows_a_fault_that_can_repeat_a_delivery(report: Report):
    # Then a transition is repeated only after a kill, an overlapping run, a lost answer or a
    # failed commit, never without a cause
    assert [str(f) for f in report.score.unexplained_duplicates] == []


def test_no_error_escapes_the_handler(report: Report):
    # Then every run, faults or not, ended with a summary (a killed process aside)
    assert report.unhandled == []


def test_no_transition_is_lost(report: Report):
    # Then every state an entity held at a fault-free tick reached the subscriber
    assert [str(f) for f in report.score.lost] == []


def test_the_subscriber_is_current_after_every_fault_free_tick(report: Report):
    assert [str(f) for f in report.score.stale] == []


def test_the_final_state_matches_the_truth_exactly(report: Report):
    # Then, after the fault-free ticks at the end, the subscriber's picture is the truth
    assert [str(f) for f in report.score.final] == []
