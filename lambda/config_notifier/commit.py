"""The commit: what the snapshot records once a message is delivered, written over other writers.

Publish, then commit (docs/design.md rule 2): nothing here runs before SNS took the message that
carries a transition, or before the mutes held it back. A write that meets another writer's
revision is applied again on top of what is there now, up to COMMIT_RETRIES times; a conflict
left after that makes the next run repeat the message (at least once, never lost). The store
raises SnapshotUnavailable for every other failure, and the caller reports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from config_notifier.diff import moved
from config_notifier.errors import SnapshotUnavailable
from config_notifier.model import Change, EntityId, Kind, Observation, Record, Transition
from config_notifier.plan import MEMBERS_PENDING, state_key
from config_notifier.ports import SnapshotPort
from config_notifier.report import RunReport
from config_notifier.stored import ChunkCommit, Chunked, Outbox
from config_notifier.stuck import entered_at

# Times a commit that met another writer's revision is applied again on top of it. Each retry
# reloads what is there; a conflict left after them makes the next run repeat the message.
COMMIT_RETRIES = 3

Records = dict[EntityId, Record]


def next_record(previous: Record | None, observation: Observation, stamp: str) -> Record:
    """An entity's record once its status `observation` is delivered (or held by a mute)."""
    if previous is None:
        began = entered_at(observation.status, stamp)
        return Record(observation.entity, observation.status, first_seen=stamp, last_changed=began)
    if previous.status == observation.status:
        return previous
    if not moved(previous.status, observation.status):
        # A reworded message or a new update time: the entity is still in the same state, and
        # how long it has been in it (stuck detection) counts from when it entered it.
        return replace(previous, status=observation.status)
    # An in-progress state may have begun before this run saw it: AWS's clock says when.
    began = entered_at(observation.status, stamp, not_before=previous.last_changed)
    return replace(previous, status=observation.status, last_changed=began, stuck_reported=None)


def applied(
    transitions: Sequence[Transition], stalled: Sequence[EntityId], before: Records, stamp: str
) -> Records:
    """The records once `transitions` are committed and the stalls of `stalled` marked reported."""
    after = dict(before)
    for t in transitions:
        if t.new is None:
            after.pop(t.entity, None)
        else:
            after[t.entity] = next_record(before.get(t.entity), Observation(t.entity, t.new), stamp)
    for entity in stalled:
        if entity in after:
            after[entity] = replace(after[entity], stuck_reported=stamp)
    return after


def save_over_conflicts(
    save: Callable[[Chunked, Records], ChunkCommit],
    reload: Callable[[], Chunked],
    apply: Callable[[Records], Records],
    base: Chunked,
    after: Records,
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


def tracked(members: Chunked) -> Chunked:
    """The member records a snapshot keeps: those not known healthy (docs/design.md rule 7).

    A member deployed successfully is not kept: it is read again only if it stops being
    healthy, through the unhealthy statuses' filters. Records of healthy members that an older
    version kept are left out here and dropped by the next commit of their chunk.
    """
    kept = {e: r for e, r in members.records.items() if not r.status.is_settled_ok}
    return Chunked(kept, members.chunk_revisions)


def parent_record(
    stored: Record | None,
    observation: Observation,
    stamp: str,
    *,
    reported_stuck: bool,
    members_in_step: bool,
    announce_members: bool,
) -> Record | None:
    """The rule's or pack's own record for the region's commit; None when it does not change.

    `members_in_step`: its members were read and committed this run, so the record says which
    organization-level state they reflect. `announce_members`: it is new outside a baseline and
    its members could not be read, so they are reported (not baselined) once they can be.
    """
    record = next_record(stored, observation, stamp)
    if reported_stuck:
        record = replace(record, stuck_reported=stamp)
    synced = state_key(observation.status)
    if members_in_step and not _read_every_run(stored, observation, synced):
        record = replace(record, detail_synced=synced, detail_read_at=stamp)
    elif announce_members:
        record = replace(record, detail_synced=MEMBERS_PENDING)
    return record if record != stored else None


def _read_every_run(stored: Record | None, observation: Observation, synced: str) -> bool:
    """True for a rule or pack that is not successful and whose members were last read in this
    very state: it is read every run whatever its time of reading (docs/design.md rule 7), and a
    new time would rewrite the region's records at every run while nothing moves."""
    return (
        stored is not None
        and stored.detail_synced == synced
        and not observation.status.is_settled_ok
    )


class Committer:
    """Writes one run's commits (stamped with its time) and counts every write as it is made."""

    def __init__(self, store: SnapshotPort, stamp: str, report: RunReport) -> None:
        self._store = store
        self._stamp = stamp
        self._report = report

    def members(
        self,
        parent: EntityId,
        before: Chunked,
        changes: Sequence[Transition],
        stalled: Sequence[EntityId],
    ) -> ChunkCommit:
        """Commit a rule's or pack's members: their delivered changes and reported stalls.
        A member that is healthy now leaves the snapshot."""
        store, stamp = self._store, self._stamp

        def after_on(records: Records) -> Records:
            return tracked(Chunked(applied(changes, stalled, records, stamp), {})).records

        after = after_on(before.records)
        if after == before.records:
            return ChunkCommit()
        saved = save_over_conflicts(
            lambda base, new: store.save_members(parent, base, new),
            lambda: store.load_members(parent),
            after_on,
            before,
            after,
        )
        self._report.committed(saved)
        return saved

    def region(
        self,
        where: tuple[str, str],
        loaded: Chunked,
        delivered: Sequence[Transition],
        *,
        stalled: Sequence[EntityId],
        records: Mapping[EntityId, Record],
    ) -> ChunkCommit:
        """Write the region's records once: what was delivered, the stalls reported, and the
        records of its rules and packs (`records`)."""
        store, stamp, (name, admin) = self._store, self._stamp, where
        total = ChunkCommit()
        for t in delivered:
            if t.change is Change.DISAPPEARED and t.entity.kind in (Kind.ORG_RULE, Kind.ORG_PACK):
                # A removed rule or pack takes its member records with it, before its own
                # record goes: a crash in between repeats the removal rather than orphan them.
                saved = store.save_members(t.entity, store.load_members(t.entity), {})
                self._report.committed(saved)
                total = _plus(total, saved)
        after = {**applied(delivered, stalled, loaded.records, stamp), **records}
        if after == loaded.records:
            return total
        saved = save_over_conflicts(
            lambda base, new: store.save_region(name, base, new, admin),
            lambda: store.load_region(name, admin),
            lambda fresh: {**applied(delivered, stalled, fresh, stamp), **records},
            loaded,
            after,
        )
        self._report.committed(saved)
        return _plus(total, saved)

    def clean_outboxes(
        self, where: tuple[str, str], done: Mapping[str, Outbox]
    ) -> tuple[dict[str, Outbox], list[str]]:
        """Remove the outboxes whose statuses the snapshot now holds: each one, whatever became
        of the others. An outbox left behind makes the next run tell again what it names (a
        member told healthy is absent from the snapshot, rule 7), so one failure must not keep
        the rest. Returns those that stayed, and the write errors that kept some of them."""
        name, admin = where
        stayed: dict[str, Outbox] = {}
        errors: list[str] = []
        for subject, outbox in done.items():
            try:
                if self._store.delete_outbox(name, subject, outbox, admin):
                    continue
            except SnapshotUnavailable as exc:
                errors.append(f"{subject}: {exc.reason}")
            stayed[subject] = outbox
        return stayed, errors


def _plus(a: ChunkCommit, b: ChunkCommit) -> ChunkCommit:
    return ChunkCommit(a.written + b.written, a.deleted + b.deleted, a.conflicts + b.conflicts)
