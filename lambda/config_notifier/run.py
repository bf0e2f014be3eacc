"""One run: read every region, diff against the snapshot, publish, then commit what was delivered.

The steps live in their own modules (read, snapshot, diff, render, publish); this module only
orders them and keeps the rules that make the notifier trustworthy:
- a source that was not read completely is unknown: nothing of it changes or disappears;
- a transition enters the snapshot only after SNS accepted the message that carries it;
- the first run per region and source is a baseline: recorded, summarized, not flooded.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from config_notifier import SERVICE
from config_notifier.accounts import AccountNames, Names
from config_notifier.diff import diff_told, for_baseline, moved
from config_notifier.events import EventPublisher, PutResult, event_entries
from config_notifier.model import (
    Change,
    EntityId,
    Group,
    Kind,
    Observation,
    Record,
    RunStats,
    Severity,
    SourceFailure,
    Status,
    Stuck,
    Transition,
)
from config_notifier.mute import is_muted
from config_notifier.plan import MEMBERS_PENDING, needs_detail, state_key
from config_notifier.publish import Publisher, certainly_refused
from config_notifier.read import (
    CallCounter,
    SourceReadError,
    read_account_packs,
    read_members,
    read_org_packs,
    read_org_rules,
)
from config_notifier.render import Context, render, render_baseline_summary
from config_notifier.settings import Settings
from config_notifier.snapshot import (
    SINGLES,
    ChunkCommit,
    Chunked,
    Outbox,
    RegionSnapshot,
    SnapshotStore,
    Told,
    outbox_subject,
)
from config_notifier.stuck import is_stuck, stuck_members, stuck_parent

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

# Times a commit that met another writer's revision is applied again on top of it. Each retry
# reloads what is there; a conflict left after them makes the next run repeat the message.
COMMIT_RETRIES = 3

# A child of the handler's logger (same service name), so these records get its JSON format and
# the run's correlation id.
logger = Logger(service=SERVICE, child=True)

Reader = Callable[["ConfigServiceClient", str, CallCounter, str], list[Observation]]
SOURCES: dict[Kind, Reader] = {
    Kind.ORG_RULE: read_org_rules,
    Kind.ORG_PACK: read_org_packs,
    Kind.ACCOUNT_PACK: read_account_packs,
}


class AdminAccess(Protocol):
    """Config as one delegated administrator account sees it (delegated.DelegatedAdmin)."""

    @property
    def account(self) -> str: ...

    def check(self) -> str | None:
        """None when the account can be reached, else why not, in words a person can act on."""
        ...

    def config_client(self, region: str) -> ConfigServiceClient: ...


@dataclass(frozen=True, slots=True)
class Dependencies:
    """The run's adapters, each wrapping the boto3 client it was given."""

    config_client: Callable[[str], ConfigServiceClient]  # region -> client
    snapshot: SnapshotStore
    publisher: Publisher
    account_names: AccountNames | None = None  # None: messages show account ids alone
    events: EventPublisher | None = None  # None: no events
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


class _NamesOnce:
    """The account names, loaded at most once per run and only by a run that needs them."""

    def __init__(self, source: AccountNames | None, now: datetime) -> None:
        self._source = source
        self._now = now
        self._lock = threading.Lock()
        self.loaded: Names | None = None

    def get(self) -> Names:
        with self._lock:
            if self.loaded is None:
                self.loaded = (
                    self._source.load(self._now) if self._source is not None else Names({})
                )
                if self.loaded.error is not None:
                    logger.warning(
                        "account names unavailable; messages show account ids alone",
                        extra={"reason": self.loaded.error},
                    )
            return self.loaded


@dataclass(frozen=True, slots=True)
class _Tick:
    """What every step of one run shares."""

    settings: Settings
    deps: Dependencies
    calls: CallCounter
    context: Context
    now: datetime
    deadline: float
    clock: Callable[[], float]
    stamp: str  # `now` as stored: one string shared by every record the run writes
    generation: str  # names this run's outbox items: sorts by time, unique per run
    names: _NamesOnce

    def context_for(self, group: Group) -> Context:
        """The run's context, with account names when the message names member accounts."""
        if (
            not group.admin_account
            and not any(t.entity.account_id for t in group.members)
            and not any(s.entity.account_id for s in group.stuck)
        ):
            return self.context
        return replace(self.context, account_names=self.names.get().names)

    @property
    def stuck_after(self) -> timedelta:
        return timedelta(minutes=self.settings.stuck_after_minutes)


@dataclass(slots=True)
class _Region:
    """What phase one learned about a region, as one account deployed to it: the management
    account (`admin` "") or a delegated administrator. Each is a region of its own: its snapshot
    partition, its outboxes, its baseline."""

    name: str
    admin: str = ""
    snapshot: RegionSnapshot | None = None
    current: dict[Kind, list[Observation]] = field(default_factory=dict)  # sources read completely
    unfinished: set[Kind] = field(default_factory=set)  # sources with a parent not committed

    def in_baseline(self, kind: Kind) -> bool:
        return self.snapshot is not None and kind.value not in self.snapshot.baselined

    def previous(self, kind: Kind) -> dict[EntityId, Record]:
        records = self.snapshot.records if self.snapshot is not None else {}
        return {e: r for e, r in records.items() if e.kind is kind}


@dataclass(slots=True)
class _Commit:
    written: int = 0
    deleted: int = 0
    conflicts: int = 0


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one organization rule or pack's work came to."""

    parent: EntityId
    counts: Counter[str] = field(default_factory=Counter)  # transitions published, by severity
    messages: int = 0  # messages published
    commit: _Commit = field(default_factory=_Commit)
    failure: SourceFailure | None = None
    publish_error: str | None = None
    write_failed: bool = False
    record: Record | None = None  # the rule's or pack's record to commit, if it is to change
    deferred: bool = False
    failing_members: int = 0
    busy: bool = False  # another run is publishing it right now
    outbox: Outbox | None = None  # to remove once the region's commit holds what it says
    muted: int = 0  # transitions and stalls committed without a message
    events: PutResult | None = None

    @property
    def done(self) -> bool:
        """Delivered and its members committed: nothing of it is left for the next run."""
        return not (
            self.deferred
            or self.busy
            or self.publish_error
            or self.write_failed
            or self.commit.conflicts
        )


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
    stamp = _iso(now)
    tick = _Tick(
        settings,
        deps,
        CallCounter(),
        Context(run_id, stamp),
        now,
        deadline,
        clock,
        stamp,
        generation=f"{stamp}~{run_id}".replace("#", "-"),
        names=_NamesOnce(deps.account_names, now),
    )
    stats = RunStats()
    regions = {
        (admin, name): _Region(name, admin)
        for admin in ("", *deps.delegated_admins)
        for name in settings.regions
    }
    skipped = 0
    with ExitStack() as stack:
        executor = deps.executor or stack.enter_context(
            ThreadPoolExecutor(max_workers=settings.max_concurrency)
        )
        pool = _Tasks(executor)
        # As when leaving a pool of its own, the run ends only after every task it started, even
        # when it fails: no thread of it works on into the next invocation.
        stack.callback(pool.wait)
        in_flight = _survey(pool, regions, tick, stats)
        _retry_events(tick, regions, stats)
        work = [
            (region, observation)
            for region in regions.values()
            if region.snapshot is not None
            for kind in (Kind.ORG_RULE, Kind.ORG_PACK)
            for observation in region.current.get(kind, [])
            if outbox_subject(observation.entity) in region.snapshot.outbox
            or needs_detail(
                observation.status,
                region.snapshot.records.get(observation.entity),
                now,
                timedelta(hours=settings.full_reconcile_hours),
            )
        ]
        # Deployments that moved or are unsettled first; routine reconciles last.
        work.sort(key=lambda item: item[1].status.is_settled_ok)
        futures: list[tuple[_Region, Future[_Outcome]]] = [
            (
                region,
                pool.submit(_reconcile_parent, tick, region, observation),
            )
            for region, observation in work
        ]
        _collect(regions, in_flight, stats)
        outcomes: dict[tuple[str, str], list[_Outcome]] = {key: [] for key in regions}
        for region, future in futures:
            outcome = future.result()
            outcomes[region.admin, region.name].append(outcome)
            _count(stats, outcome)
            if not outcome.done:
                region.unfinished.add(outcome.parent.kind)
                skipped += outcome.deferred
    for key, region in regions.items():
        _finish_region(tick, region, outcomes[key], stats)
    stats.api_calls = tick.calls.snapshot()
    return {
        "run_id": run_id,
        "regions": list(settings.regions),
        "delegated_admins": list(deps.delegated_admins),
        "api_calls": sum(stats.api_calls.values()),
        "api_calls_by_operation": stats.api_calls,
        "transitions": stats.transitions,
        "messages_published": stats.messages_published,
        "messages_failed": stats.messages_failed,
        "records_written": stats.records_written,
        "records_deleted": stats.records_deleted,
        "write_conflicts": stats.write_conflicts,
        "deferred_for_time": skipped,
        "muted": stats.muted,
        "events_put": stats.events_put,
        "events_failed": stats.events_failed,
        "events_dropped": stats.events_dropped,
        "failed_sources": [
            {"region": f.region, "source": f.source, "reason": f.reason}
            | ({"admin_account": f.admin_account} if f.admin_account else {})
            for f in stats.failures
        ],
        "baselined": stats.baselined,
        "account_names": _names_outcome(tick.names.loaded),
        "duration_ms": round((clock() - started) * 1000),
    }


_T = TypeVar("_T")


class _Tasks:
    """The run's tasks on an executor that may outlive it (a warm Lambda keeps its threads)."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._started: list[Future[Any]] = []

    def submit(self, fn: Callable[..., _T], /, *args: Any) -> Future[_T]:
        future = self._executor.submit(fn, *args)
        self._started.append(future)
        return future

    def wait(self) -> None:
        """Return once every task started has ended."""
        wait(self._started)


def _survey(
    pool: _Tasks,
    regions: dict[tuple[str, str], _Region],
    tick: _Tick,
    stats: RunStats,
) -> dict[tuple[tuple[str, str], Kind], Future[list[Observation]]]:
    """Phase one: every source of every region, and every region's snapshot, side by side.

    Returns the account packs' reads still in flight: theirs is the longest chain of pages, and
    the run plans the organization rules' and packs' work while it waits for them."""
    # A delegated administrator whose role cannot be assumed is unknown, not empty: none of its
    # regions is read or loaded, so nothing of it changes or disappears (DESIGN rule 1).
    checks = {
        admin: pool.submit(access.check) for admin, access in tick.deps.delegated_admins.items()
    }
    unreachable = {admin: reason for admin, c in checks.items() if (reason := c.result())}
    reachable = {key: r for key, r in regions.items() if r.admin not in unreachable}

    # Account packs first: their pages hold 20 items, not 100, so theirs is the longest chain of
    # pages and the one a run waits for. The snapshots next: DynamoDB answers long before Config
    # does, so they are parsed before the first wave of Config pages arrives, not alongside it.
    def start_read(key: tuple[str, str], kind: Kind) -> Future[list[Observation]]:
        r = reachable[key]
        return pool.submit(
            SOURCES[kind], tick.deps.config_for(r.name, r.admin), r.name, tick.calls, r.admin
        )

    account_packs = {
        (key, Kind.ACCOUNT_PACK): start_read(key, Kind.ACCOUNT_PACK) for key in reachable
    }
    loads = {
        key: pool.submit(tick.deps.snapshot.load_region, r.name, r.admin)
        for key, r in reachable.items()
    }
    organization = {
        (key, kind): start_read(key, kind)
        for kind in (Kind.ORG_RULE, Kind.ORG_PACK)
        for key in reachable
    }
    for region in regions.values():
        if region.admin in unreachable:
            for kind in SOURCES:
                _fail(stats, region.name, kind.value, unreachable[region.admin], region.admin)
    for key, future in loads.items():
        try:
            regions[key].snapshot = future.result()
        except (ClientError, BotoCoreError) as exc:
            admin = regions[key].admin
            _fail(stats, key[1], "snapshot", f"could not load the snapshot: {exc}", admin)
    _collect(regions, organization, stats)
    return account_packs


def _collect(
    regions: dict[tuple[str, str], _Region],
    reads: Mapping[tuple[tuple[str, str], Kind], Future[list[Observation]]],
    stats: RunStats,
) -> None:
    """Each source read completely becomes its region's current view; the others are unknown."""
    for (key, kind), read in reads.items():
        try:
            regions[key].current[kind] = read.result()
        except SourceReadError as exc:
            _fail(stats, key[1], kind.value, exc.reason, regions[key].admin)


@dataclass(slots=True)
class _Parent:
    """One organization rule or pack while it is being reconciled."""

    observation: Observation
    stored: Record | None  # its record as committed
    members_before: Chunked  # its members as committed
    members_now: list[Observation] | None  # None: they could not be read this run
    failure: SourceFailure | None
    loaded: Outbox | None  # what an earlier run published about it and could not commit

    @property
    def entity(self) -> EntityId:
        return self.observation.entity


def _reconcile_parent(tick: _Tick, region: _Region, observation: Observation) -> _Outcome:
    """Read, diff, publish and commit one organization rule or pack with its member accounts.

    Its members are done before the next rule's or pack's, so memory follows one rule or pack.
    """
    entity = observation.entity
    snapshot = region.snapshot
    if tick.clock() >= tick.deadline or snapshot is None:
        # Left for the next run; nothing of it is committed, so nothing is lost.
        return _Outcome(entity, deferred=True)
    subject = outbox_subject(entity)
    failure = None
    try:
        members_before = tick.deps.snapshot.load_members(entity)
        members_now: list[Observation] | None = read_members(
            tick.deps.config_for(entity.region, entity.admin_account), entity, tick.calls
        )
    except SourceReadError as exc:
        members_now = None
        failure = SourceFailure(
            entity.region, f"{entity.kind.value} {entity.name}", exc.reason, entity.admin_account
        )
    except (ClientError, BotoCoreError) as exc:
        return _Outcome(entity, failure=_snapshot_failure(region, "load", exc))
    work = _Parent(
        observation,
        region.previous(entity.kind).get(entity),
        members_before,
        members_now,
        failure,
        loaded=snapshot.outbox.get(subject),
    )
    to_publish, member_changes, unresolved = _parent_changes(tick, region, work)
    all_stuck = (
        []
        if region.in_baseline(entity.kind) or work.stored is None
        else _stuck_with_members(tick, work, member_changes)
    )
    to_publish, stuck, muted = _unmuted(tick, to_publish, all_stuck)
    counts: Counter[str] = Counter()
    events = None
    outbox = work.loaded
    if to_publish:
        try:
            # Written before it is published: a run killed in between, or whose commit fails,
            # tells the next run what the subscriber may have heard.
            told = {**unresolved, **{t.entity: t.new for t in to_publish}}
            written = tick.deps.snapshot.put_outbox(
                entity.region,
                subject,
                told,
                tick.generation,
                work.loaded,
                admin=entity.admin_account,
            )
        except (ClientError, BotoCoreError) as exc:
            # Not recorded, so not published: the next run finds the change again.
            outbox_failure = _snapshot_failure(region, "outbox", exc)
            return _Outcome(entity, failure=outbox_failure, write_failed=True)
        if written is None:
            logger.info(
                "another run is publishing this rule or pack; left to it and the next run",
                extra={"region": entity.region, "entity": entity.name},
            )
            return _Outcome(entity, busy=True)
        keys = {*(outbox.keys if outbox else ()), *written}
        outbox = Outbox(told, tick.generation, tuple(sorted(keys)))
    if to_publish or stuck:
        detail_read = members_now is not None
        group = _group(entity, to_publish, observation.status, detail_read=detail_read)
        error, events = _publish_group(tick, replace(group, stuck=tuple(stuck)))
        if error is not None:
            if to_publish and outbox is not None and certainly_refused(error):
                # Every status it told, and every one the run found there, goes back.
                everything = [*outbox.told, *(work.loaded.told if work.loaded else ())]
                _unsay(tick, region, subject, outbox, work.loaded, refused=everything)
            return _Outcome(entity, failure=failure, publish_error=error)
        counts.update(t.severity.value for t in to_publish)
        counts.update({Severity.STUCK.value: len(stuck)} if stuck else {})
    # Muted stalls are marked too: like a muted transition, committed as if delivered.
    outcome = _commit_parent(tick, region, work, member_changes, stuck=all_stuck)
    return replace(
        outcome,
        counts=counts,
        messages=1 if to_publish or stuck else 0,
        # Its outbox goes once the region's commit holds this; not while members are unknown.
        outbox=None if unresolved else outbox,
        muted=muted,
        events=events,
    )


def _parent_changes(
    tick: _Tick, region: _Region, work: _Parent
) -> tuple[list[Transition], list[Transition], Told]:
    """What to publish about a rule or pack and its members, every member that moved, and what
    earlier runs published of members that could not be read this time."""
    mode, entity, stored = tick.settings.baseline_mode, work.entity, work.stored
    in_baseline = region.in_baseline(entity.kind)
    pending = work.loaded.told if work.loaded else {}
    parent_told = {e: s for e, s in pending.items() if e == entity}
    members_told = {e: s for e, s in pending.items() if e != entity}
    parent_changes = diff_told({entity: stored} if stored else {}, parent_told, [work.observation])
    if work.members_now is None:
        member_changes, unresolved = [], members_told
    else:
        member_changes = diff_told(work.members_before.records, members_told, work.members_now)
        unresolved = {}
    # Members seen for the first time are a baseline too: when the region's source is new, or when
    # an earlier run recorded the rule or pack but could not read its members.
    quiet_members = in_baseline or (stored is not None and stored.detail_synced is None)
    to_publish = (for_baseline(parent_changes, mode) if in_baseline else parent_changes) + (
        for_baseline(member_changes, mode) if quiet_members else member_changes
    )
    return to_publish, member_changes, unresolved


def _commit_parent(
    tick: _Tick,
    region: _Region,
    work: _Parent,
    member_changes: Sequence[Transition],
    *,
    stuck: Sequence[Stuck] = (),
) -> _Outcome:
    """Commit the members now; hand the rule's or pack's own record to the region's commit.

    `stuck` are the stalls reported (or muted) this run: their records remember it.
    """
    commit, failure, write_failed = _Commit(), work.failure, False
    stalled = [s.entity for s in stuck if s.entity != work.entity]
    after = _applied(member_changes, stalled, work.members_before.records, tick.stamp)
    if after != work.members_before.records:
        try:
            store = tick.deps.snapshot
            saved = _save_over_conflicts(
                lambda base, new: store.save_members(work.entity, base, new),
                lambda: store.load_members(work.entity),
                lambda loaded: _applied(member_changes, stalled, loaded, tick.stamp),
                work.members_before,
                after,
            )
            commit = _Commit(saved.written, saved.deleted, saved.conflicts)
        except (ClientError, BotoCoreError) as exc:
            failure, write_failed = _snapshot_failure(region, "commit", exc), True
    observation = work.observation
    record = _next_record(work.stored, observation, tick.stamp)
    if any(s.entity == work.entity for s in stuck):
        record = replace(record, stuck_reported=tick.stamp)
    if work.members_now is not None and commit.conflicts == 0 and not write_failed:
        record = replace(
            record, detail_synced=state_key(observation.status), detail_read_at=tick.stamp
        )
    elif work.stored is None and not region.in_baseline(work.entity.kind):
        # A new rule or pack announced without its members: report them once they can be read.
        record = replace(record, detail_synced=MEMBERS_PENDING)
    return _Outcome(
        work.entity,
        commit=commit,
        failure=failure,
        write_failed=write_failed,
        # Committed with the region's other records once every rule and pack is done.
        record=record if record != work.stored else None,
        failing_members=sum(1 for o in work.members_now or [] if o.status.is_failed),
    )


def _finish_region(
    tick: _Tick, region: _Region, outcomes: Sequence[_Outcome], stats: RunStats
) -> None:
    """Phase three: account packs, removed rules and packs, the region's commit, the summary."""
    snapshot = region.snapshot
    if snapshot is None:
        return  # its snapshot could not be loaded: the whole region waits for the next run
    # What earlier runs published of account packs and removed rules and packs, uncommitted.
    handled = {outbox_subject(o.parent) for o in outcomes} | {SINGLES}
    gone = {s: o for s, o in snapshot.outbox.items() if s not in handled and _gone(s, region)}
    loaded = snapshot.outbox.get(SINGLES)
    pending: dict[EntityId, Status | None] = dict(loaded.told) if loaded else {}
    for outbox in gone.values():
        pending.update((e, s) for e, s in outbox.told.items() if e.kind in SOURCES)
    singles, quiet, unresolved = _single_changes(tick, region, pending)
    account_packs = region.current.get(Kind.ACCOUNT_PACK)
    stuck = (
        []
        if account_packs is None or region.in_baseline(Kind.ACCOUNT_PACK)
        else stuck_members(
            region.previous(Kind.ACCOUNT_PACK), account_packs, tick.now, tick.stuck_after
        )
    )
    kept, kept_stuck, muted = _unmuted(tick, singles, stuck)
    stats.muted += muted
    quiet += [t for t in singles if t not in kept]  # muted: committed, not published
    delivered, reported, singles_outbox = _publish_singles(
        tick, region, kept, kept_stuck, unresolved=unresolved, stats=stats
    )
    reported += [s.entity for s in stuck if s not in kept_stuck]  # muted stalls: marked too
    if _commit_region(tick, region, outcomes, stats, delivered=quiet + delivered, stuck=reported):
        # The snapshot now holds what these outboxes said.
        done = dict(gone)
        if singles_outbox is not None and not unresolved:
            done[SINGLES] = singles_outbox
        done.update((outbox_subject(o.parent), o.outbox) for o in outcomes if o.done and o.outbox)
        try:
            for subject, outbox in done.items():
                tick.deps.snapshot.delete_outbox(region.name, subject, outbox, region.admin)
        except (ClientError, BotoCoreError) as exc:
            # Left behind, they are published again next run: a duplicate, never a loss.
            _fail_write(stats, region, "outbox cleanup", exc)
    _baseline_summary(tick, region, outcomes, stats)


def _single_changes(
    tick: _Tick, region: _Region, pending: Told
) -> tuple[list[Transition], list[Transition], Told]:
    """Account packs and removed rules and packs: what to publish, what to commit quietly, and
    what earlier runs published of sources unread this time."""
    assert region.snapshot is not None  # noqa: S101 (the caller checked)
    singles: list[Transition] = []
    quiet: list[Transition] = []
    unresolved: dict[EntityId, Status | None] = {}
    for kind in SOURCES:
        told = {e: s for e, s in pending.items() if e.kind is kind}
        current = region.current.get(kind)
        if current is None:
            unresolved.update(told)
            continue  # unknown this run: nothing of it changes or disappears
        committed = region.previous(kind)
        if kind is Kind.ACCOUNT_PACK:
            changes = diff_told(committed, told, current)
        else:
            # Organization rules and packs that still exist were handled with their members.
            kept = {o.entity for o in current}
            changes = diff_told(
                {e: r for e, r in committed.items() if e not in kept},
                {e: s for e, s in told.items() if e not in kept},
                [],
            )
        in_baseline = region.in_baseline(kind)
        to_publish = for_baseline(changes, tick.settings.baseline_mode) if in_baseline else changes
        singles += to_publish
        quiet += [t for t in changes if t not in to_publish]  # a baseline's: committed as they are
    return singles, quiet, unresolved


def _publish_singles(
    tick: _Tick,
    region: _Region,
    singles: list[Transition],
    stuck: list[Stuck],
    *,
    unresolved: Told,
    stats: RunStats,
) -> tuple[list[Transition], list[EntityId], Outbox | None]:
    """One message each, recorded in the outbox first, and one per stuck account pack; return
    what SNS took, the stalls it took, and the outbox."""
    assert region.snapshot is not None  # noqa: S101 (the caller checked)
    loaded = outbox = region.snapshot.outbox.get(SINGLES)
    if singles:
        told = {**unresolved, **{t.entity: t.new for t in singles}}
        try:
            written = tick.deps.snapshot.put_outbox(
                region.name, SINGLES, told, tick.generation, outbox, admin=region.admin
            )
        except (ClientError, BotoCoreError) as exc:
            _fail_write(stats, region, "outbox", exc)  # not recorded, so not published
            singles, outbox = [], None
        else:
            if written is None:
                stats.write_conflicts += 1
                region.unfinished.update(SOURCES)
                logger.info(
                    "another run is publishing this region's messages; left to the next run"
                )
                return [], [], None
            keys = {*(outbox.keys if outbox else ()), *written}
            outbox = Outbox(told, tick.generation, tuple(sorted(keys)))
    groups = [_single_group(t) for t in singles] + [_stuck_group(s) for s in stuck]
    if not groups:
        return [], [], outbox
    messages = [render(g, tick.context) for g in groups]
    delivered: list[Transition] = []
    reported: list[EntityId] = []
    published: list[Group] = []
    refused: list[EntityId] = []  # surely not delivered
    maybe_delivered = False  # a refusal SNS may have taken all the same
    for group, error in zip(groups, tick.deps.publisher.publish(messages), strict=True):
        if error is not None:
            stats.messages_failed += 1
            logger.warning(
                "publish failed; retried next run",
                extra={"entity": f"{group.region}/{group.name}", "error": error},
            )
            if group.parent is not None:
                region.unfinished.add(group.kind)
                if certainly_refused(error):
                    refused.append(group.parent.entity)
                else:
                    maybe_delivered = True
            continue
        published.append(group)
        delivered += group.transitions
        reported += [s.entity for s in group.stuck]
    _tally(stats, published)
    # Before the commit: an event that cannot be put is kept in the outbox first.
    _count_events(stats, _put_events(tick, published, tick.context))
    if refused and outbox is not None and outbox.generation == tick.generation:
        outbox = _unsay(tick, region, SINGLES, outbox, loaded, refused=refused)
    # What SNS may have taken without saying so must stay in the outbox after the commit: None
    # keeps it.
    return delivered, reported, None if maybe_delivered else outbox


def _tally(stats: RunStats, published: Sequence[Group]) -> None:
    """Count the messages SNS took and the transitions and stalls they carried."""
    stats.messages_published += len(published)
    for group in published:
        for t in group.transitions:
            stats.transitions[t.severity.value] = stats.transitions.get(t.severity.value, 0) + 1
        if group.stuck:
            stuck_count = stats.transitions.get(Severity.STUCK.value, 0)
            stats.transitions[Severity.STUCK.value] = stuck_count + len(group.stuck)


def _unsay(
    tick: _Tick,
    region: _Region,
    subject: str,
    written: Outbox,
    loaded: Outbox | None,
    *,
    refused: Sequence[EntityId],
) -> Outbox | None:
    """`subject`'s outbox once what SNS surely did not deliver is put back as the run found it;
    None when nothing is left of it.

    Kept, it would tell the next run that subscribers may have heard statuses they never did,
    and a rule or pack whose update started and ended on either side of the refusal would be
    reported as moving back to where subscribers already have it.
    """
    before = loaded.told if loaded is not None else {}
    taken_back = set(refused)  # a rule or pack's outbox can name 10,000 member accounts
    told = {e: s for e, s in written.told.items() if e not in taken_back}
    told.update((e, before[e]) for e in taken_back if e in before)
    store = tick.deps.snapshot
    try:
        if not told:
            store.delete_outbox(region.name, subject, written, region.admin)
            return None
        keys = store.put_outbox(
            region.name, subject, told, tick.generation, written, admin=region.admin
        )
    except (ClientError, BotoCoreError) as exc:
        # Left as written: the next run may repeat a transition, never lose one.
        logger.warning(
            "outbox not put back after a certain refusal",
            extra={"subject": subject, "error": str(exc)},
        )
        return written
    if keys is None:
        return written  # another run wrote it since: left to that run and the next
    return Outbox(told, tick.generation, tuple(sorted({*written.keys, *keys})))


def _commit_region(
    tick: _Tick,
    region: _Region,
    outcomes: Sequence[_Outcome],
    stats: RunStats,
    *,
    delivered: Sequence[Transition],
    stuck: Sequence[EntityId] = (),
) -> bool:
    """Write the region's records once; True if the snapshot now holds everything delivered."""
    assert region.snapshot is not None  # noqa: S101 (the caller checked)
    deps, commit = tick.deps, _Commit()
    try:
        for t in delivered:
            if t.change is Change.DISAPPEARED and t.entity.kind in (Kind.ORG_RULE, Kind.ORG_PACK):
                # A removed rule or pack takes its member records with it, before its own record
                # goes: a crash in between repeats the removal next run rather than orphan them.
                members = deps.snapshot.load_members(t.entity)
                saved = deps.snapshot.save_members(t.entity, members, {})
                commit = _merge(commit, _Commit(saved.written, saved.deleted, saved.conflicts))
        records = {o.parent: o.record for o in outcomes if o.record is not None}
        after = {**_applied(delivered, stuck, region.snapshot.records, tick.stamp), **records}
        if after != region.snapshot.records:
            saved = _save_over_conflicts(
                lambda base, new: deps.snapshot.save_region(region.name, base, new, region.admin),
                lambda: deps.snapshot.load_region(region.name, region.admin),
                lambda loaded: {**_applied(delivered, stuck, loaded, tick.stamp), **records},
                region.snapshot,
                after,
            )
            commit = _merge(commit, _Commit(saved.written, saved.deleted, saved.conflicts))
    except (ClientError, BotoCoreError) as exc:
        _fail_write(stats, region, "commit", exc)
        return False
    finally:
        stats.records_written += commit.written
        stats.records_deleted += commit.deleted
        stats.write_conflicts += commit.conflicts
    if commit.conflicts:
        region.unfinished.update(SOURCES)  # an overlapping run wrote first: redo next run
    return commit.conflicts == 0


def _save_over_conflicts(
    save: Callable[[Chunked, dict[EntityId, Record]], ChunkCommit],
    reload: Callable[[], Chunked],
    apply: Callable[[dict[EntityId, Record]], dict[EntityId, Record]],
    base: Chunked,
    after: dict[EntityId, Record],
) -> ChunkCommit:
    """Save `after` over `base`. Where another writer changed a chunk since the run loaded it,
    apply what this run saw to what is there now (`apply` of the reloaded records) and save that,
    up to COMMIT_RETRIES times, rather than publish it all again next run. Counts every write and
    delete made; the conflicts are the last attempt's."""
    saved = save(base, after)
    for _ in range(COMMIT_RETRIES):
        if not saved.conflicts:
            break
        fresh = reload()
        retry = save(fresh, apply(fresh.records))
        saved = replace(
            retry, written=saved.written + retry.written, deleted=saved.deleted + retry.deleted
        )
    return saved


def _gone(subject: str, region: _Region) -> bool:
    """True when the outbox's rule or pack is no longer there (its source read completely)."""
    kind, _, name = subject.partition("#")
    current = region.current.get(Kind(kind))
    return current is not None and all(o.entity.name != name for o in current)


def _group(
    parent: EntityId,
    transitions: Sequence[Transition],
    current: Status | None,
    *,
    detail_read: bool,
) -> Group:
    return Group(
        region=parent.region,
        kind=parent.kind,
        name=parent.name,
        parent=next((t for t in transitions if t.entity == parent), None),
        current=current,
        members=tuple(t for t in transitions if t.entity != parent),
        detail_read=detail_read,
        admin_account=parent.admin_account,
    )


def _snapshot_failure(region: _Region, step: str, exc: Exception) -> SourceFailure:
    return SourceFailure(region.name, "snapshot", f"{step}: {exc}", region.admin)


def _fail_write(stats: RunStats, region: _Region, step: str, exc: Exception) -> None:
    region.unfinished.update(SOURCES)
    failure = _snapshot_failure(region, step, exc)
    _fail(stats, failure.region, failure.source, failure.reason, failure.admin_account)


def _baseline_summary(
    tick: _Tick, region: _Region, outcomes: Sequence[_Outcome], stats: RunStats
) -> None:
    """Tell people once that a region is now watched; mark its sources done only if they heard."""
    done = [
        kind
        for kind in SOURCES
        if region.in_baseline(kind) and kind in region.current and kind not in region.unfinished
    ]
    if not done:
        return
    failing_members = {o.parent: o.failing_members for o in outcomes}
    message = render_baseline_summary(
        region.name,
        {kind: region.current[kind] for kind in done},
        failing_members,
        [f for f in stats.failures if (f.region, f.admin_account) == (region.name, region.admin)],
        tick.context
        if not region.admin
        else replace(tick.context, account_names=tick.names.get().names),
        admin_account=region.admin,
    )
    error = tick.deps.publisher.publish([message])[0]
    if error is not None:
        stats.messages_failed += 1
        logger.warning("baseline summary not published; retried next run", extra={"error": error})
        return
    stats.messages_published += 1
    for kind in done:
        tick.deps.snapshot.mark_baselined(region.name, kind.value, tick.stamp, region.admin)
    stats.baselined.append(f"{region.name}@{region.admin}" if region.admin else region.name)


def _stuck_with_members(
    tick: _Tick, work: _Parent, member_changes: Sequence[Transition]
) -> list[Stuck]:
    """The stalls of a rule or pack and of its member accounts that have not been reported."""
    assert work.stored is not None  # noqa: S101 (the caller checked)
    stuck: list[Stuck] = []
    if is_stuck(work.stored, work.observation.status, tick.now, tick.stuck_after):
        members = work.members_now
        statuses = [o.status for o in members] if members is not None else None
        stuck.append(stuck_parent(work.stored, work.observation, statuses))
    moved_members = {t.entity for t in member_changes}
    return stuck + stuck_members(
        work.members_before.records,
        [o for o in work.members_now or [] if o.entity not in moved_members],
        tick.now,
        tick.stuck_after,
    )


def _unmuted(
    tick: _Tick, transitions: Sequence[Transition], stuck: Sequence[Stuck]
) -> tuple[list[Transition], list[Stuck], int]:
    """What is left to publish once the mutes in force are applied, and how much they held back.

    Muted transitions and stalls are committed like delivered ones; each is logged.
    """
    mutes, now = tick.settings.mutes, tick.now
    kept = [t for t in transitions if not is_muted(mutes, t.entity, t.severity, now)]
    kept_stuck = [s for s in stuck if not is_muted(mutes, s.entity, Severity.STUCK, now)]
    held = [(t.entity, t.severity) for t in transitions if t not in kept]
    held += [(s.entity, Severity.STUCK) for s in stuck if s not in kept_stuck]
    for entity, severity in held:
        logger.info(
            "muted: committed, not published",
            extra={
                "region": entity.region,
                "kind": entity.kind.value,
                "entity_name": entity.name,
                "account_id": entity.account_id or None,
                "severity": severity.value,
            },
        )
    return kept, kept_stuck, len(held)


def _publish_group(tick: _Tick, group: Group) -> tuple[str | None, PutResult | None]:
    """One message to SNS and, once SNS took it, its events to the bus (before any commit)."""
    context = tick.context_for(group)
    error = tick.deps.publisher.publish([render(group, context)])[0]
    if error is not None:
        return error, None
    return None, _put_events(tick, [group], context)


def _put_events(tick: _Tick, groups: Sequence[Group], context: Context) -> PutResult | None:
    """The published groups' transitions and stuck reports (of one region), on the event bus."""
    if tick.deps.events is None or not groups:
        return None
    entries = [e for g in groups for e in event_entries(g, context)]
    if not entries:
        return None
    return tick.deps.events.put(entries, tick.stamp, groups[0].region, groups[0].admin_account)


def _retry_events(tick: _Tick, regions: dict[tuple[str, str], _Region], stats: RunStats) -> None:
    """Put the events earlier runs delivered by SNS but could not put on the bus, if any wait
    (the regions' snapshots say so)."""
    waiting = [
        (r.name, r.admin)
        for r in regions.values()
        if r.snapshot is not None and r.snapshot.events_pending
    ]
    if tick.deps.events is None or not waiting:
        return
    result = tick.deps.events.retry_pending(tick.now)
    _count_events(stats, result)
    if result.cleared:
        try:
            tick.deps.events.clear_markers(waiting)
        except (ClientError, BotoCoreError) as exc:
            # Left: the next run reads an empty event outbox, and tries again.
            logger.warning("event outbox markers not cleared", extra={"error": str(exc)})


def _count_events(stats: RunStats, result: PutResult | None) -> None:
    if result is None:
        return
    stats.events_put += result.put
    stats.events_failed += result.failed
    stats.events_dropped += result.dropped
    if result.dropped:
        logger.error(
            "events lost: neither put nor kept for the next run",
            extra={"dropped": result.dropped, "errors": list(result.errors[:10])},
        )
    elif result.failed:
        logger.warning(
            "events not put; kept and put again next run",
            extra={"failed": result.failed, "errors": list(result.errors[:10])},
        )


def _stuck_group(s: Stuck) -> Group:
    entity = s.entity
    return Group(
        entity.region,
        entity.kind,
        entity.name,
        None,
        s.status,
        stuck=(s,),
        admin_account=entity.admin_account,
    )


def _applied(
    transitions: Sequence[Transition],
    stuck: Sequence[EntityId],
    before: dict[EntityId, Record],
    now: str,
) -> dict[EntityId, Record]:
    """The records once `transitions` are committed and the stalls of `stuck` marked reported."""
    return _mark_stuck(_apply(transitions, before, now), stuck, now)


def _mark_stuck(
    records: dict[EntityId, Record], entities: Sequence[EntityId], now: str
) -> dict[EntityId, Record]:
    """`records` with the stall of each of `entities` marked as reported."""
    for entity in entities:
        if entity in records:
            records[entity] = replace(records[entity], stuck_reported=now)
    return records


def _names_outcome(names: Names | None) -> str:
    """What the run's summary says about account names: one word, also a metric."""
    if names is None:
        return "not needed"
    if names.error is not None:
        return "unavailable"
    return "listed" if names.refreshed else "cached"


def _single_group(t: Transition) -> Group:
    return Group(
        region=t.entity.region,
        kind=t.entity.kind,
        name=t.entity.name,
        parent=t,
        current=t.new,
        admin_account=t.entity.admin_account,
    )


def _apply(
    transitions: Sequence[Transition], before: dict[EntityId, Record], now: str
) -> dict[EntityId, Record]:
    """The records once `transitions` are committed."""
    after = dict(before)
    for t in transitions:
        if t.new is None:
            after.pop(t.entity, None)
        else:
            after[t.entity] = _next_record(before.get(t.entity), Observation(t.entity, t.new), now)
    return after


def _next_record(previous: Record | None, observation: Observation, now: str) -> Record:
    if previous is None:
        return Record(observation.entity, observation.status, first_seen=now, last_changed=now)
    if previous.status == observation.status:
        return previous
    if not moved(previous.status, observation.status):
        # A reworded message or a new update time: the entity is still in the same state, and
        # how long it has been in it (stuck detection) counts from when it entered it.
        return replace(previous, status=observation.status)
    return replace(previous, status=observation.status, last_changed=now, stuck_reported=None)


def _merge(a: _Commit, b: _Commit) -> _Commit:
    return _Commit(a.written + b.written, a.deleted + b.deleted, a.conflicts + b.conflicts)


def _count(stats: RunStats, outcome: _Outcome) -> None:
    if outcome.failure is not None:
        failure = outcome.failure
        _fail(stats, failure.region, failure.source, failure.reason, failure.admin_account)
    if outcome.publish_error is not None:
        stats.messages_failed += 1
        logger.warning(
            "publish failed; the transitions are retried next run",
            extra={"entity": outcome.parent.name, "error": outcome.publish_error},
        )
    stats.messages_published += outcome.messages
    for severity, n in outcome.counts.items():
        stats.transitions[severity] = stats.transitions.get(severity, 0) + n
    stats.records_written += outcome.commit.written
    stats.records_deleted += outcome.commit.deleted
    stats.write_conflicts += outcome.commit.conflicts + outcome.busy
    stats.muted += outcome.muted
    _count_events(stats, outcome.events)


def _fail(stats: RunStats, region: str, source: str, reason: str, admin: str = "") -> None:
    stats.failures.append(SourceFailure(region, source, reason, admin))
    logger.error(
        "snapshot unreadable or unwritable; what it would have recorded is redone next run"
        if source == "snapshot"
        else "source unread; its entities are kept as they were",
        extra={
            "region": region,
            "source": source,
            "reason": reason,
            "delegated_admin": admin or None,
        },
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
