"""One run: it only orders the steps (docs/design.md, "One run").

1. survey     read every source and load every snapshot, side by side       (survey.py)
2. plan       which rules and packs need their member accounts read         (plan.py)
3. parents    each rule or pack: members, changes, delivery, member commit  (parent_work.py)
4. close      each region: single messages, the region's commit, clean-up   (region_close.py)
5. remind     what is still failing or stuck, one digest when due           (remind.py)

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
from config_notifier.parent_work import ParentOutcome, ParentWork
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
        futures = [
            (region, pool.submit(parents.reconcile, region, observation))
            for region, observation in plan(
                regions.values(), now, timedelta(hours=settings.full_reconcile_hours)
            )
        ]
        # The rules' and packs' work is planned and started while the account packs still page.
        collect(regions, account_packs, report)
        outcomes = _outcomes(regions, futures, report)
    closing = RegionClose(scope)
    for key, region in regions.items():
        closing.close(region, outcomes[key])
    remind(scope, regions.values())
    report.api_calls = calls.snapshot()
    return report.summary(
        run_id,
        settings.regions,
        list(deps.delegated_admins),
        messages.names,
        round((clock() - started) * 1000),
    )


def _outcomes(
    regions: Mapping[RegionKey, Region],
    futures: list[tuple[Region, Future[ParentOutcome]]],
    report: RunReport,
) -> dict[RegionKey, list[ParentOutcome]]:
    """Each rule's or pack's outcome by region, in the order they were planned; a source whose
    rule or pack is left unfinished is not done for the region's baseline."""
    outcomes: dict[RegionKey, list[ParentOutcome]] = {key: [] for key in regions}
    for region, future in futures:
        outcome = future.result()
        outcomes[region.key].append(outcome)
        if outcome.failure is not None:
            report.source_failed(outcome.failure)
        if outcome.left is not None:
            region.unfinished.add(outcome.parent.kind)
    return outcomes
