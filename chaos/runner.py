"""A chaos run: the timeline played against the sandbox, the real handler at every tick, scored.

Each tick: the tick's scripted changes go into the Config simulator (and the truth model), the
tick's faults are switched on (simulator rules, proxy rules), the handler runs (in-process; in a
process that is SIGKILLed mid-run; or in two processes at once), the faults are switched off and
the subscriber's queue is drained. At the end, what the subscriber received is scored against the
truth (chaos.score) and every fault kind must have fired at least once.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chaos.score import MAX_DELIVERIES, Delivered, Score, TickInfo, Unconfirmed, deliveries, score
from chaos.timeline import FAULT_KINDS, Fault, Tick, Timeline
from chaos.unconfirmed import unconfirmed
from chaos.world import World, truths
from sandbox.lambda_process import HandlerProcess
from sandbox.lambda_runtime import ExecutionEnvironment, RunResult
from sandbox.notifier import Notifier
from sandbox.targets import Target

if TYPE_CHECKING:
    from sandbox.config_sim import ConfigSimulator
    from sandbox.fault_proxy import FaultProxy

RUN_TIMEOUT_S = 120.0


@dataclass
class TickRecord:
    """What happened at one tick."""

    index: int
    mode: str
    faults: tuple[str, ...]
    events: int
    results: list[RunResult]
    messages: int = 0
    config_calls: int = 0
    injected: int = 0
    kill: str = ""  # how the kill landed, in words
    seconds: float = 0.0
    # What the faults left unconfirmed, as the fault proxy saw it (chaos.unconfirmed).
    unconfirmed: list[Unconfirmed] = field(default_factory=list)

    @property
    def notifier_calls(self) -> int:
        return sum(r.summary["api_calls"] for r in self.results if r.summary)

    def failed_sources(self) -> list[str]:
        return [f["reason"] for r in self.results if r.summary for f in r.summary["failed_sources"]]


@dataclass
class Report:
    timeline: Timeline
    score: Score
    ticks: list[TickRecord]
    unhandled: list[str] = field(default_factory=list)
    harness_problems: list[str] = field(default_factory=list)
    fired: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    delivered: list[Delivered] = field(default_factory=list)

    @property
    def kills_landed(self) -> int:
        return sum(1 for t in self.ticks if t.kill.startswith("killed"))

    def targets(self) -> list[Target]:
        s = self.score
        silent = [kind for kind in FAULT_KINDS if not self.fired[kind]]
        return [
            Target("transitions lost", str(len(s.lost)), "0", not s.lost),
            Target("false transitions", str(len(s.false)), "0", not s.false),
            Target(
                "duplicates without such a fault",
                f"{len(s.unexplained_duplicates)} of {len(s.duplicates)}",
                "0",
                not s.unexplained_duplicates,
            ),
            Target(
                "most deliveries of a transition",
                str(s.most_deliveries),
                f"<= {MAX_DELIVERIES}",
                s.most_deliveries <= MAX_DELIVERIES,
            ),
            Target("unhandled errors", str(len(self.unhandled)), "0", not self.unhandled),
            Target("stale after a fault-free tick", str(len(s.stale)), "0", not s.stale),
            Target("final state differs", str(len(s.final)), "0", not s.final),
            Target(
                "fault kinds that fired",
                f"{len(FAULT_KINDS) - len(silent)}/{len(FAULT_KINDS)}",
                "all" + (f" (silent: {', '.join(silent)})" if silent else ""),
                not silent,
            ),
            Target(
                "harness problems", str(len(self.harness_problems)), "0", not self.harness_problems
            ),
        ]

    def ok(self) -> bool:
        return all(t.ok for t in self.targets())

    def render(self, details: int = 10) -> str:
        s = self.score
        lines = [
            f"chaos run: {len(self.timeline.ticks)} ticks, seed {self.timeline.seed}, "
            f"{len(self.timeline.regions)} regions, {self.seconds:.0f} s",
            f"  scripted changes: {sum(len(t.events) for t in self.timeline.ticks)}; "
            f"true transitions after the baseline: {s.true_transitions} to tell, {s.quiet} "
            "not told by design (healthy members, docs/design.md rule 7)",
            f"  fault-free ticks: {sum(1 for t in self.timeline.ticks if t.clean)}; "
            f"kills landed mid-run: {self.kills_landed}/"
            f"{sum(1 for t in self.ticks if t.mode == 'kill')}; "
            f"overlapping runs: {sum(1 for t in self.ticks if t.mode == 'overlap')}",
            f"  messages: {s.messages} carrying {s.delivered} transitions; reached "
            f"{s.reached}, of which delayed {s.delayed}; collapsed while unreadable "
            f"{s.collapsed}",
            "  fault kinds (ticks active / ticks where it fired): "
            + ", ".join(
                f"{kind} {self._active(kind)}/{self.fired[kind]}" for kind in sorted(FAULT_KINDS)
            ),
            # Information, not a target: how often at-least-once repeated itself under this mix.
            f"  duplicates (information): {len(s.duplicates)} transitions, "
            f"{s.explained_duplicates} after a fault that left their delivery unconfirmed; "
            f"{s.duplicate_messages} of "
            f"{s.messages} messages repeat a transition ({s.duplicate_share:.2%})",
            "",
            f"  {'target':<32} {'measured':<22} {'target':<10}",
        ]
        for t in self.targets():
            lines.append(f"  {t.name:<32} {t.measured:<22} {t.target:<10} {t.verdict}")
        lines.append(
            "  (such a fault: one that left a delivery of the same entity unconfirmed, from its "
            "previous delivery to the repeat)"
        )
        if s.duplicates:
            lines.append(
                "  duplicate messages by the fault that left the delivery unconfirmed (a message "
                "may have two): "
                + ", ".join(f"{k} {n}" for k, n in s.duplicate_message_causes.most_common())
            )
        if s.lost:
            signed = sum(1 for f in s.lost if f.causes)
            lines.append(
                f"  lost after a delivery that a fault left unconfirmed: {signed} of {len(s.lost)}"
            )
        for title, findings in (
            ("lost", s.lost),
            ("false", s.false),
            ("duplicates without a fault that left their delivery unconfirmed",
             s.unexplained_duplicates),
            (f"transitions delivered more than {MAX_DELIVERIES} times", s.over_delivered),
            ("stale after a fault-free tick", s.stale),
            ("final state differs", s.final),
        ):  # fmt: skip
            if findings:
                lines.append(f"  {title} (first {min(details, len(findings))}):")
                lines += [f"    {f}" for f in findings[:details]]
        for error in self.unhandled[:details]:
            lines.append("  unhandled error:\n    " + error.strip().replace("\n", "\n    "))
        lines += [f"  harness problem: {p}" for p in self.harness_problems[:details]]
        return "\n".join(lines)

    def _active(self, kind: str) -> int:
        return sum(1 for t in self.ticks if kind in t.faults)


def run_chaos(
    timeline: Timeline,
    sim: ConfigSimulator,
    proxy: FaultProxy,
    sandbox_env: Mapping[str, str],
    *,
    max_attempts: int = 3,
    progress: Callable[[TickRecord], None] | None = None,
) -> Report:
    """Play `timeline` against the sandbox with the real handler; the scored report."""
    started = time.monotonic()
    deployment = Notifier(
        sandbox_env, timeline.regions, MAX_ATTEMPTS=str(max_attempts), MAX_CONCURRENCY="4"
    )
    try:
        # In-process runs share one execution environment: warm after the first, as in Lambda.
        with deployment.environment() as function:
            play = _Play(timeline, sim, proxy, deployment, function)
            for tick in timeline.ticks:
                record = play.tick(tick)
                if progress is not None:
                    progress(record)
    finally:
        deployment.delete()
    truth = truths(t.events for t in timeline.ticks)
    infos = [
        TickInfo(tuple(f.kind for f in t.faults), clean=t.clean, unconfirmed=tuple(r.unconfirmed))
        for t, r in zip(timeline.ticks, play.records, strict=True)
    ]
    return Report(
        timeline,
        score(truth, play.delivered, infos),
        play.records,
        play.unhandled,
        play.problems,
        play.fired,
        time.monotonic() - started,
        play.delivered,
    )


@dataclass
class _Play:
    """The state of a run in progress."""

    timeline: Timeline
    sim: ConfigSimulator
    proxy: FaultProxy
    deployment: Notifier
    function: ExecutionEnvironment
    world: World = field(default_factory=World)
    delivered: list[Delivered] = field(default_factory=list)
    records: list[TickRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    fired: Counter[str] = field(default_factory=Counter)
    messages: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.timeline.seed)  # noqa: S311 - kill timing, repeatable

    def tick(self, tick: Tick) -> TickRecord:
        sim, proxy = self.sim, self.proxy
        for event in tick.events:
            event.drive(sim)
            event.apply(self.world)
        self.problems += [
            f"tick {tick.index}: driver and model disagree: {p}"
            for p in self.world.differences(sim.dump_state())
        ]
        calls_before, injected_before = sim.call_count(), proxy.injected()
        sim.set_faults([rule for f in tick.faults for rule in f.sim])
        proxy.set_faults([rule for f in tick.faults for rule in f.proxy])
        began = time.monotonic()
        proxy.record()  # what the faults did to each publish and write: chaos.unconfirmed
        try:
            record = _run_tick(tick, self.deployment, self.function, proxy, self.rng)
        finally:
            sim.clear_faults()
            proxy.clear_faults()
        # A killed run can leave a publish or a write in flight: it lands in this tick.
        if not proxy.wait_idle():
            self.problems.append(f"tick {tick.index}: requests still in flight after 10 s")
        record.unconfirmed = unconfirmed(
            proxy.exchanges(),
            tick.faults,
            killed=record.kill.startswith("killed"),
            overlap=tick.mode == "overlap",
        )
        proxy.record(on=False)
        record.seconds = time.monotonic() - began
        record.config_calls = sim.call_count() - calls_before
        record.injected = proxy.injected() - injected_before
        self._receive(tick, record)
        for result in record.results:
            if result.error is not None and not result.killed:
                self.unhandled.append(f"tick {tick.index} ({tick.mode}): {result.error}")
        for fault in tick.faults:
            self.fired[fault.kind] += _fired(fault, record)
        self.records.append(record)
        return record

    def _receive(self, tick: Tick, record: TickRecord) -> None:
        for delivery in self.deployment.received():
            if delivery.is_transition:
                self.delivered += deliveries(tick.index, self.messages, delivery.document)
                self.messages += 1
                record.messages += 1
            elif tick.index != 0:
                self.problems.append(
                    f"tick {tick.index}: unexpected {delivery.attributes.get('event_type')}"
                )
        if tick.index == 0:
            baselined = sorted(
                r for res in record.results if res.summary for r in res.summary["baselined"]
            )
            if baselined != sorted(self.timeline.regions):
                self.problems.append(f"the baseline run baselined {baselined} only")


def _run_tick(
    tick: Tick,
    deployment: Notifier,
    function: ExecutionEnvironment,
    proxy: FaultProxy,
    rng: random.Random,
) -> TickRecord:
    run_id = f"tick-{tick.index:04d}"
    faults = tuple(f.kind for f in tick.faults)
    record = TickRecord(tick.index, tick.mode, faults, len(tick.events), [])
    if tick.mode == "in-process":
        record.results.append(function.invoke(run_id))
    elif tick.mode == "overlap":
        processes = [HandlerProcess(deployment.env) for _ in (1, 2)]
        for process in processes:
            process.ready()
        for i, process in enumerate(processes, start=1):
            process.go(f"{run_id}-{i}")
        record.results += [process.finish(RUN_TIMEOUT_S) for process in processes]
    else:
        fault = next(f for f in tick.faults if f.kill_after is not None)
        record.kill, result = _killed_run(deployment, proxy, run_id, fault)
        record.results.append(result)
    return record


def _killed_run(
    deployment: Notifier, proxy: FaultProxy, run_id: str, fault: Fault
) -> tuple[str, RunResult]:
    """Start the handler in a process and SIGKILL it when the trigger is reached."""
    assert fault.kill_after is not None  # noqa: S101 - only kill faults come here
    trigger, amount = fault.kill_after
    process = HandlerProcess(deployment.env)
    process.ready()

    def progress() -> float:
        if trigger == "publish":
            return proxy.requests("sns", "Publish") + proxy.requests("sns", "PublishBatch")
        if trigger == "write":
            return proxy.requests("dynamodb", "PutItem") + proxy.requests("dynamodb", "DeleteItem")
        return time.monotonic()

    start = progress()
    began = time.monotonic()
    process.go(run_id)
    how = f"finished before the kill ({trigger} {amount:g})"
    while process.running():
        elapsed = time.monotonic() - began
        if progress() - start >= amount or elapsed > RUN_TIMEOUT_S:
            if process.kill():
                how = f"killed after {trigger} {amount:g} ({elapsed:.2f} s into the run)"
            break
        time.sleep(0.002)
    return how, process.finish(RUN_TIMEOUT_S)


def _fired(fault: Fault, record: TickRecord) -> int:
    """1 if the fault visibly bit at this tick: a source failed for its reason, the proxy
    failed a request, the kill landed mid-run, both overlapping runs did their work."""
    kind = fault.kind
    reasons = " ".join(record.failed_sources())
    evidence: dict[str, Callable[[], bool]] = {
        "config-throttle-region": lambda: "ThrottlingException" in reasons,
        "config-throttle-detail": lambda: "ThrottlingException" in reasons,
        # Retries absorb most throttles at this rate: the simulator saw more calls than were made.
        "config-throttle-some": lambda: (
            record.config_calls > record.notifier_calls or "ThrottlingException" in reasons
        ),
        "config-access-denied": lambda: "AccessDenied" in reasons,
        "config-token-loop": lambda: "NextToken" in reasons,
        # Two empty pages before each listing's data: at least three calls per listing.
        "config-empty-pages": lambda: record.config_calls >= 3 * 3 * 2,
        "kill": lambda: record.kill.startswith("killed"),
        "overlap": lambda: len([r for r in record.results if r.summary]) == 2,
    }
    check = evidence.get(kind, lambda: record.injected > 0)
    return int(check())


def summary_lines(results: list[RunResult]) -> list[dict[str, Any]]:
    """The summaries of a tick's runs (for a progress line)."""
    return [r.summary for r in results if r.summary]
