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
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from config_notifier import SERVICE
from config_notifier.accounts import AccountNames, Names
from config_notifier.diff import diff, for_baseline, moved
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
    Stuck,
    Transition,
)
from config_notifier.mute import is_muted
from config_notifier.plan import MEMBERS_PENDING, needs_detail, state_key
from config_notifier.publish import Publisher
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
from config_notifier.snapshot import RegionSnapshot, SnapshotStore
from config_notifier.stuck import is_stuck, stuck_members, stuck_parent

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

# A child of the handler's logger (same service name), so these records get its JSON format and
# the run's correlation id.
logger = Logger(service=SERVICE, child=True)

Reader = Callable[["ConfigServiceClient", str, CallCounter], list[Observation]]
SOURCES: dict[Kind, Reader] = {
    Kind.ORG_RULE: read_org_rules,
    Kind.ORG_PACK: read_org_packs,
    Kind.ACCOUNT_PACK: read_account_packs,
}


@dataclass(frozen=True, slots=True)
class Dependencies:
    """The run's adapters, each wrapping the boto3 client it was given."""

    config_client: Callable[[str], ConfigServiceClient]  # region -> client
    snapshot: SnapshotStore
    publisher: Publisher
    account_names: AccountNames | None = None  # None: messages show account ids alone
    events: EventPublisher | None = None  # None: no events


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
    names: _NamesOnce

    def context_for(self, group: Group) -> Context:
        """The run's context, with account names when the message names member accounts."""
        if not any(t.entity.account_id for t in group.members) and not any(
            s.entity.account_id for s in group.stuck
        ):
            return self.context
        return replace(self.context, account_names=self.names.get().names)

    @property
    def stuck_after(self) -> timedelta:
        return timedelta(minutes=self.settings.stuck_after_minutes)


@dataclass(slots=True)
class _Region:
    """What phase one learned about a region."""

    name: str
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
    published: Transition | None = None
    counts: Counter[str] = field(default_factory=Counter)
    commit: _Commit = field(default_factory=_Commit)
    failure: SourceFailure | None = None
    publish_error: str | None = None
    record: Record | None = None  # the rule's or pack's record to commit, if it is to change
    deferred: bool = False
    failing_members: int = 0
    muted: int = 0  # transitions and stalls committed without a message
    events: PutResult | None = None

    @property
    def done(self) -> bool:
        """Delivered and its members committed: nothing of it is left for the next run."""
        return not (self.deferred or self.publish_error or self.commit.conflicts)


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
        _NamesOnce(deps.account_names, now),
    )
    stats = RunStats()
    regions = {name: _Region(name) for name in settings.regions}
    skipped = 0
    if deps.events is not None:
        # What earlier runs delivered by SNS but could not put on the bus.
        _count_events(stats, deps.events.retry_pending(now))
    with ThreadPoolExecutor(max_workers=settings.max_concurrency) as pool:
        _survey(pool, regions, tick, stats)
        work = [
            (region, observation)
            for region in regions.values()
            if region.snapshot is not None
            for kind in (Kind.ORG_RULE, Kind.ORG_PACK)
            for observation in region.current.get(kind, [])
            if needs_detail(
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
        outcomes: dict[str, list[_Outcome]] = {name: [] for name in regions}
        for region, future in futures:
            outcome = future.result()
            outcomes[region.name].append(outcome)
            _count(stats, outcome)
            if not outcome.done:
                region.unfinished.add(outcome.parent.kind)
                skipped += outcome.deferred
    for region in regions.values():
        _finish_region(tick, region, outcomes[region.name], stats)
    stats.api_calls = tick.calls.snapshot()
    return {
        "run_id": run_id,
        "regions": list(settings.regions),
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
            {"region": f.region, "source": f.source, "reason": f.reason} for f in stats.failures
        ],
        "baselined": stats.baselined,
        "account_names": _names_outcome(tick.names.loaded),
        "duration_ms": round((clock() - started) * 1000),
    }


def _survey(
    pool: ThreadPoolExecutor, regions: dict[str, _Region], tick: _Tick, stats: RunStats
) -> None:
    """Phase one: every source of every region, and every region's snapshot, side by side."""
    reads = {
        (name, kind): pool.submit(reader, tick.deps.config_client(name), name, tick.calls)
        for name in regions
        for kind, reader in SOURCES.items()
    }
    loads = {name: pool.submit(tick.deps.snapshot.load_region, name) for name in regions}
    for name, future in loads.items():
        try:
            regions[name].snapshot = future.result()
        except (ClientError, BotoCoreError) as exc:
            _fail(stats, name, "snapshot", f"could not load the snapshot: {exc}")
    for (name, kind), read in reads.items():
        try:
            regions[name].current[kind] = read.result()
        except SourceReadError as exc:
            _fail(stats, name, kind.value, exc.reason)


def _reconcile_parent(tick: _Tick, region: _Region, observation: Observation) -> _Outcome:
    """Read, diff, publish and commit one organization rule or pack with its member accounts.

    Its members are done before the next rule's or pack's, so memory follows one rule or pack.
    """
    parent = observation.entity
    if tick.clock() >= tick.deadline:
        # Left for the next run; nothing of it is committed, so nothing is lost.
        return _Outcome(parent, deferred=True)
    deps, mode = tick.deps, tick.settings.baseline_mode
    previous = region.previous(parent.kind).get(parent)
    in_baseline = region.in_baseline(parent.kind)
    failure = None
    try:
        members_before = deps.snapshot.load_members(parent)
        members_now: list[Observation] | None = read_members(
            deps.config_client(parent.region), parent, tick.calls
        )
    except SourceReadError as exc:
        members_now = None
        failure = SourceFailure(parent.region, f"{parent.kind.value} {parent.name}", exc.reason)
    except (ClientError, BotoCoreError) as exc:
        return _Outcome(parent, failure=SourceFailure(parent.region, "snapshot", str(exc)))

    parent_changes = diff({parent: previous} if previous else {}, [observation])
    member_changes = diff(members_before.records, members_now) if members_now is not None else []
    # Members seen for the first time are a baseline too: when the region's source is new, or when
    # an earlier run recorded the rule or pack but could not read its members.
    quiet_members = in_baseline or (previous is not None and previous.detail_synced is None)
    to_publish = (for_baseline(parent_changes, mode) if in_baseline else parent_changes) + (
        for_baseline(member_changes, mode) if quiet_members else member_changes
    )
    all_stuck = stuck = (
        []
        if in_baseline or previous is None
        else _stuck_with_members(
            tick,
            previous=previous,
            observation=observation,
            members_before=members_before.records,
            members_now=members_now,
            member_changes=member_changes,
        )
    )
    to_publish, stuck, muted = _unmuted(tick, to_publish, stuck)
    counts = Counter(t.severity.value for t in to_publish)
    counts.update({Severity.STUCK.value: len(stuck)} if stuck else {})
    failing = sum(1 for o in members_now or [] if o.status.is_failed)

    published_parent = next((t for t in to_publish if t.entity == parent), None)
    events = None
    if to_publish or stuck:
        group = Group(
            region=parent.region,
            kind=parent.kind,
            name=parent.name,
            parent=published_parent,
            current=observation.status,
            members=tuple(t for t in to_publish if t.entity != parent),
            detail_read=members_now is not None,
            stuck=tuple(stuck),
        )
        error, events = _publish_group(tick, group)
        if error is not None:
            return _Outcome(parent, failure=failure, publish_error=error, counts=Counter())

    commit = _Commit()
    # Muted stalls are marked too: like a muted transition, committed as if delivered.
    after = _mark_stuck(
        _apply(member_changes, members_before.records, tick.stamp),
        [s.entity for s in all_stuck if s.entity != parent],
        tick.stamp,
    )
    if after != members_before.records:
        saved = deps.snapshot.save_members(parent, members_before, after)
        commit = _Commit(saved.written, saved.deleted, saved.conflicts)
    record = _next_record(previous, observation, tick.stamp)
    if any(s.entity == parent for s in all_stuck):
        record = replace(record, stuck_reported=tick.stamp)
    if members_now is not None and commit.conflicts == 0:
        record = replace(
            record, detail_synced=state_key(observation.status), detail_read_at=tick.stamp
        )
    elif previous is None and not in_baseline:
        # A new rule or pack announced without its members: report them once they can be read.
        record = replace(record, detail_synced=MEMBERS_PENDING)
    return _Outcome(
        parent,
        published=published_parent,
        counts=counts,
        commit=commit,
        failure=failure,
        # Committed with the region's other records once every rule and pack is done.
        record=record if record != previous else None,
        failing_members=failing,
        muted=muted,
        events=events,
    )


def _finish_region(
    tick: _Tick, region: _Region, outcomes: Sequence[_Outcome], stats: RunStats
) -> None:
    """Phase three: account packs, removed rules and packs, the region's commit, the summary."""
    if region.snapshot is None:
        return  # its snapshot could not be loaded: the whole region waits for the next run
    deps = tick.deps
    delivered, singles, stuck = _region_changes(tick, region)
    unmuted, unmuted_stuck, muted = _unmuted(tick, singles, stuck)
    stats.muted += muted
    delivered += [t for t in singles if t not in unmuted]  # muted: committed, not published
    reported_stuck = [s.entity for s in stuck if s not in unmuted_stuck]  # muted: marked
    groups = [_single_group(t) for t in unmuted] + [_stuck_group(s) for s in unmuted_stuck]
    results = deps.publisher.publish([render(g, tick.context) for g in groups])
    published: list[Group] = []
    for group, error in zip(groups, results, strict=True):
        if error is not None:
            stats.messages_failed += 1
            logger.warning(
                "publish failed; retried next run",
                extra={"entity": f"{group.region}/{group.name}", "error": error},
            )
            if group.parent is not None:
                region.unfinished.add(group.kind)
            continue
        stats.messages_published += 1
        published.append(group)
        for t in group.transitions:
            stats.transitions[t.severity.value] = stats.transitions.get(t.severity.value, 0) + 1
            delivered.append(t)
        for s in group.stuck:
            stats.transitions[Severity.STUCK.value] = (
                stats.transitions.get(Severity.STUCK.value, 0) + 1
            )
            reported_stuck.append(s.entity)
    # Before the commit: an event that cannot be put is kept in the outbox first.
    _count_events(stats, _put_events(tick, published, tick.context))

    commit = _Commit()
    for t in delivered:
        if t.change is Change.DISAPPEARED and t.entity.kind in (Kind.ORG_RULE, Kind.ORG_PACK):
            # A removed rule or pack takes its member records with it, before its own record
            # goes: a crash in between repeats the removal next run rather than orphan them.
            saved = deps.snapshot.save_members(t.entity, deps.snapshot.load_members(t.entity), {})
            commit = _merge(commit, _Commit(saved.written, saved.deleted, saved.conflicts))
    after = _mark_stuck(
        _apply(delivered, region.snapshot.records, tick.stamp), reported_stuck, tick.stamp
    )
    after.update({o.parent: o.record for o in outcomes if o.record is not None})
    if after != region.snapshot.records:
        saved = deps.snapshot.save_region(region.name, region.snapshot, after)
        commit = _merge(commit, _Commit(saved.written, saved.deleted, saved.conflicts))
    if commit.conflicts:
        region.unfinished.update(SOURCES)  # an overlapping run wrote first: redo next run
    stats.records_written += commit.written
    stats.records_deleted += commit.deleted
    stats.write_conflicts += commit.conflicts
    _baseline_summary(tick, region, outcomes, stats)


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
        [f for f in stats.failures if f.region == region.name],
        tick.context,
    )
    error = tick.deps.publisher.publish([message])[0]
    if error is not None:
        stats.messages_failed += 1
        logger.warning("baseline summary not published; retried next run", extra={"error": error})
        return
    stats.messages_published += 1
    for kind in done:
        tick.deps.snapshot.mark_baselined(region.name, kind.value, tick.stamp)
    stats.baselined.append(region.name)


def _single_group(t: Transition) -> Group:
    return Group(
        region=t.entity.region,
        kind=t.entity.kind,
        name=t.entity.name,
        parent=t,
        current=t.new,
    )


def _region_changes(
    tick: _Tick, region: _Region
) -> tuple[list[Transition], list[Transition], list[Stuck]]:
    """What phase three has to tell and commit: account packs, removed rules and packs.

    Returns the transitions to commit without a message (baseline), those to publish one message
    each, and the account packs in progress for too long.
    """
    quiet: list[Transition] = []
    singles: list[Transition] = []
    stuck: list[Stuck] = []
    for kind in SOURCES:
        current = region.current.get(kind)
        if current is None:
            continue  # unknown this run: nothing of it changes or disappears
        previous = region.previous(kind)
        if kind is Kind.ACCOUNT_PACK:
            changes = diff(previous, current)
            if not region.in_baseline(kind):
                stuck += stuck_members(previous, current, tick.now, tick.stuck_after)
        else:
            # Organization rules and packs that still exist were handled with their members.
            present = {o.entity for o in current}
            changes = diff({e: r for e, r in previous.items() if e not in present}, [])
        in_baseline = region.in_baseline(kind)
        to_publish = for_baseline(changes, tick.settings.baseline_mode) if in_baseline else changes
        singles += to_publish
        quiet += [t for t in changes if t not in to_publish]  # committed as they are
    return quiet, singles, stuck


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


def _stuck_with_members(
    tick: _Tick,
    *,
    previous: Record,
    observation: Observation,
    members_before: dict[EntityId, Record],
    members_now: list[Observation] | None,
    member_changes: Sequence[Transition],
) -> list[Stuck]:
    """The stalls of a rule or pack and of its member accounts that have not been reported."""
    stuck: list[Stuck] = []
    if is_stuck(previous, observation.status, tick.now, tick.stuck_after):
        statuses = [o.status for o in members_now] if members_now is not None else None
        stuck.append(stuck_parent(previous, observation, statuses))
    moved_members = {t.entity for t in member_changes}
    return stuck + stuck_members(
        members_before,
        [o for o in members_now or [] if o.entity not in moved_members],
        tick.now,
        tick.stuck_after,
    )


def _publish_group(tick: _Tick, group: Group) -> tuple[str | None, PutResult | None]:
    """One message to SNS and, once SNS took it, its events to the bus (before any commit)."""
    context = tick.context_for(group)
    error = tick.deps.publisher.publish([render(group, context)])[0]
    if error is not None:
        return error, None
    return None, _put_events(tick, [group], context)


def _stuck_group(s: Stuck) -> Group:
    return Group(s.entity.region, s.entity.kind, s.entity.name, None, s.status, stuck=(s,))


def _put_events(tick: _Tick, groups: Sequence[Group], context: Context) -> PutResult | None:
    """The published groups' transitions and stuck reports, on the event bus."""
    if tick.deps.events is None or not groups:
        return None
    entries = [e for g in groups for e in event_entries(g, context)]
    return tick.deps.events.put(entries, tick.stamp) if entries else None


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


def _mark_stuck(
    records: dict[EntityId, Record], entities: Sequence[EntityId], now: str
) -> dict[EntityId, Record]:
    """`records` with the stall of each of `entities` marked as reported."""
    for entity in entities:
        records[entity] = replace(records[entity], stuck_reported=now)
    return records


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
        stats.failures.append(outcome.failure)
    if outcome.publish_error is not None:
        stats.messages_failed += 1
        logger.warning(
            "publish failed; the transitions are retried next run",
            extra={"entity": outcome.parent.name, "error": outcome.publish_error},
        )
    elif outcome.counts:
        stats.messages_published += 1
    for severity, n in outcome.counts.items():
        stats.transitions[severity] = stats.transitions.get(severity, 0) + n
    stats.muted += outcome.muted
    _count_events(stats, outcome.events)
    stats.records_written += outcome.commit.written
    stats.records_deleted += outcome.commit.deleted
    stats.write_conflicts += outcome.commit.conflicts


def _fail(stats: RunStats, region: str, source: str, reason: str) -> None:
    stats.failures.append(SourceFailure(region, source, reason))
    logger.error(
        "source unread; its entities are kept as they were",
        extra={"region": region, "source": source, "reason": reason},
    )


def _names_outcome(names: Names | None) -> str:
    """What the run's summary says about account names: one word, also a metric."""
    if names is None:
        return "not needed"
    if names.error is not None:
        return "unavailable"
    return "listed" if names.refreshed else "cached"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
