"""One run: it only orders the steps (docs/design.md, "One run").

1. survey     read every source and load every snapshot, side by side       (survey.py)
2. plan       which rules and packs need their member accounts read         (plan.py)
3. parents    each rule or pack: members and changes                        (parent_work.py)
4. singles    each region: account packs, rules and packs that are gone     (region_close.py)
5. dispatch   the run's messages, one per cause, recorded then published    (dispatch.py)
6. commit     each rule's or pack's members, then each region's commit      (parent_work.py,
              and clean-up                                                   region_close.py)
7. remind     what is still failing or stuck, one digest when due           (remind.py)

The rules that keep the notifier trustworthy live with the step that owns them: a source not read
completely is unknown (survey, changes), publish then commit (delivery, commit), the first run
is a baseline (changes, region_close).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from config_notifier.commit import Committer
from config_notifier.delivery import Courier, MessageContext, retry_events
from config_notifier.dispatch import Dispatch
from config_notifier.parent_work import ParentOutcome, ParentWork, Pending
from config_notifier.plan import plan
from config_notifier.ports import AdminAccess, EventPort, NamesPort, PublisherPort, SnapshotPort
from config_notifier.read import CallCounter
from config_notifier.region_close import RegionClose
from config_notifier.remind import remind
from config_notifier.report import RunReport
from config_notifier.scope import Scope
from config_notifier.settings import Settings
from config_notifier.survey import Region, RegionKey, Tasks, collect, survey
from config_notifier.wording import Context

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient


@dataclass(frozen=True, slots=True)
class Dependencies:
    """The run's adapters, each wrapping the boto3 client it was given (or a test's fake)."""

    config_client: Callable[[str], ConfigServiceClient]  # region -> client
    snapshot: SnapshotPort
    publisher: PublisherPort
    account_names: NamesPort | None = None  # None: messages show account ids alone
    events: EventPort | None = None  # None: no events
    # Delegated administrator accounts whose deployments are watched too, by account id.
    delegated_admins: Mapping[str, AdminAccess] = field(default_factory=dict)
    # Threads kept from one warm invocation to the next, sized to MAX_CONCURRENCY. None: each
    # run starts threads of its own, which costs a cold run's reads about 10 ms on two cores.
    executor: Executor | None = None

    def config_for(self, region: str, admin: str = "") -> ConfigServiceClient:
        """The Config client of `region`, as this account or as delegated administrator `admin`."""
        if admin:
            return self.delegated_admins[admin].config_client(region)
        return self.config_client(region)


def run(
    settings: Settings,
    deps: Dependencies,
    *,
    now: datetime,
    run_id: str,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Do one schedule tick's work and return its summary (also what the handler returns)."""
    started = clock()
    stamp = now.isoformat(timespec="seconds")
    calls, report = CallCounter(), RunReport()
    messages = MessageContext(Context(run_id, stamp), deps.account_names, now)
    courier = Courier(
        deps.snapshot,
        deps.publisher,
        deps.events,
        stamp=stamp,
        # Names this run's outbox items: sorts by time, unique per run.
        generation=f"{stamp}~{run_id}".replace("#", "-"),
    )
    committer = Committer(deps.snapshot, stamp, report)
    scope = Scope(settings, deps.snapshot, courier, committer, messages, report, now, stamp)
    regions = {
        (admin, name): Region(name, admin)
        for admin in ("", *deps.delegated_admins)
        for name in settings.regions
    }
    with ExitStack() as stack:
        executor = deps.executor or stack.enter_context(
            ThreadPoolExecutor(max_workers=settings.max_concurrency)
        )
        pool = Tasks(executor)
        # As when leaving a pool of its own, the run ends only after every task it started, even
        # when it fails: no thread of it works on into the next invocation.
        stack.callback(pool.wait)
        account_packs = survey(
            pool,
            regions,
            config_for=deps.config_for,
            snapshot=deps.snapshot,
            admins=deps.delegated_admins,
            calls=calls,
            report=report,
        )
        waiting = [r.where for r in regions.values() if r.snapshot and r.snapshot.events_pending]
        report.events(retry_events(deps.events, waiting, now))
        parents = ParentWork(scope, deps.config_for, calls, deadline, clock)
        planned = [
            (region, pool.submit(parents.reconcile, region, observation))
            for region, observation in plan(
                regions.values(), now, timedelta(hours=settings.full_reconcile_hours)
            )
        ]
        # The rules' and packs' work is planned and started while the account packs still page.
        collect(regions, account_packs, report)
        assessed = [(region, future.result()) for region, future in planned]
        outcomes, closing = _tell_and_commit(scope, regions, assessed, parents, pool)
    for key, region in regions.items():
        closing(region, outcomes[key])
    remind(scope, regions.values())
    report.api_calls = calls.snapshot()
    return report.summary(
        run_id,
        settings.regions,
        list(deps.delegated_admins),
        messages.names,
        round((clock() - started) * 1000),
    )


def _tell_and_commit(
    scope: Scope,
    regions: Mapping[RegionKey, Region],
    assessed: list[tuple[Region, ParentOutcome | Pending]],
    parents: ParentWork,
    pool: Tasks,
) -> tuple[dict[RegionKey, list[ParentOutcome]], Callable[[Region, list[ParentOutcome]], None]]:
    """Steps 4 to 6: the regions' singles, the run's messages dispatched by cause, the members of
    the rules and packs that told something committed; and what closes each region."""
    closing = RegionClose(scope)
    singles = {
        key: closing.singles(region, [a.parent for r, a in assessed if r.key == key])
        for key, region in regions.items()
    }
    pending = [a for _, a in assessed if isinstance(a, Pending)]
    told = {
        key: piece
        for key, region in regions.items()
        if (single := singles[key]) and (piece := single.piece(region))
    }
    sent = Dispatch(scope.courier, scope.messages, scope.report, scope.settings.routes).send(
        [p.piece for p in pending] + list(told.values())
    )
    region_sent = dict(zip(told, sent[len(pending) :], strict=True))
    parent_sent = iter(sent[: len(pending)])
    futures = [
        (region, pool.submit(parents.finish, a, next(parent_sent)) if isinstance(a, Pending) else a)
        for region, a in assessed
    ]

    def close(region: Region, outcomes: list[ParentOutcome]) -> None:
        closing.close(region, outcomes, singles[region.key], region_sent.get(region.key))

    return _outcomes(regions, futures, scope.report), close


def _outcomes(
    regions: Mapping[RegionKey, Region],
    futures: list[tuple[Region, Future[ParentOutcome] | ParentOutcome]],
    report: RunReport,
) -> dict[RegionKey, list[ParentOutcome]]:
    """Each rule's or pack's outcome by region, in the order they were planned; a source whose
    rule or pack is left unfinished is not done for the region's baseline."""
    outcomes: dict[RegionKey, list[ParentOutcome]] = {key: [] for key in regions}
    for region, done in futures:
        outcome = done if isinstance(done, ParentOutcome) else done.result()
        outcomes[region.key].append(outcome)
        if outcome.failure is not None:
            report.source_failed(outcome.failure)
        if outcome.left is not None:
            region.unfinished.add(outcome.parent.kind)
    return outcomes
