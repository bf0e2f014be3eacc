"""Phase two: one organization rule or pack with its member accounts, from read to commit.

Read its members and work out the changes; when it has something to tell, its piece waits for the
run's other messages (dispatch.py groups them by cause), then its members are committed; its own
record goes to the region's commit. One with nothing to tell is committed at once, so memory
follows the rules and packs that moved, and rules and packs are worked on side by side.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from aws_lambda_powertools import Logger

from config_notifier import SERVICE
from config_notifier.changes import (
    Muting,
    ParentChanges,
    ParentView,
    apply_mutes,
    covered_by,
    outbox_told,
    parent_changes,
    parent_group,
    parent_stalls,
)
from config_notifier.commit import parent_record, tracked
from config_notifier.dispatch import Piece, Sent
from config_notifier.errors import OutboxTaken, SnapshotUnavailable, SourceUnreadable
from config_notifier.model import EntityId, Observation, Record, SourceFailure, Stuck, Transition
from config_notifier.read import CallCounter, read_unhealthy_members
from config_notifier.scope import Scope
from config_notifier.stored import ChunkCommit, Chunked, Outbox, outbox_subject
from config_notifier.survey import ConfigFor, Region

logger = Logger(service=SERVICE, child=True)


class Left(StrEnum):
    """Why a rule's or pack's work is left, whole or in part, for the next run."""

    DEFERRED = "deferred"  # the run's time is up: nothing of it was done
    BUSY = "busy"  # another run is publishing it right now
    SNAPSHOT = "snapshot"  # its snapshot could not be read or its outbox written
    PUBLISH_FAILED = "publish-failed"
    COMMIT_FAILED = "commit-failed"
    CONFLICT = "conflict"  # another writer changed its members past the retries


@dataclass(frozen=True, slots=True)
class ParentOutcome:
    """What one organization rule or pack's work came to."""

    parent: EntityId
    left: Left | None = None  # None: delivered and its members committed
    failure: SourceFailure | None = None
    record: Record | None = None  # the rule's or pack's record to commit, if it is to change
    outbox: Outbox | None = None  # to remove once the region's commit holds what it says
    failing_members: int = 0
    # This run's outbox of it, whose message SNS took: marked so should the region's commit fail.
    published: Outbox | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A rule or pack with something to tell, waiting for the run's messages to go out."""

    region: Region
    view: ParentView
    changes: ParentChanges
    stalls: list[Stuck]
    muting: Muting
    failure: SourceFailure | None  # its members could not be read
    in_baseline: bool

    @property
    def parent(self) -> EntityId:
        return self.view.entity

    @property
    def piece(self) -> Piece:
        """Its share of the run's messages: one group, recorded in its own outbox."""
        entity, view, muting = self.view.entity, self.view, self.muting
        group = parent_group(
            entity,
            muting.kept,
            view.observation.status,
            detail_read=view.members_now is not None,
            stuck=muting.kept_stuck,
        )
        changes = self.changes
        told = outbox_told(changes.unresolved, changes.already_told, muting.kept)
        # The outbox holds this rule's or pack's message alone: a refusal takes all of it back.
        answers = frozenset({*told, *(view.loaded.told if view.loaded else {})})
        delivered = view.loaded.delivered if view.loaded else frozenset()
        return Piece(
            (entity.region, entity.admin_account),
            outbox_subject(entity),
            told if muting.kept else {},
            view.loaded,
            (group,),
            (answers,),
            covered_by(delivered, changes.unresolved, changes.already_told, muting.kept),
        )


class ParentWork:
    """Reconciles the rules and packs of one run, each on its own thread."""

    def __init__(
        self,
        scope: Scope,
        config_for: ConfigFor,
        calls: CallCounter,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._scope = scope
        self._config_for = config_for
        self._calls = calls
        self._deadline = deadline
        self._clock = clock

    def reconcile(self, region: Region, observation: Observation) -> ParentOutcome | Pending:
        """Read and diff one organization rule or pack with its members. With nothing to tell,
        its members are committed now; else its message waits for the run's others (its piece
        goes to dispatch), and `finish` commits what was delivered."""
        scope, entity = self._scope, observation.entity
        if self._clock() >= self._deadline or region.snapshot is None:
            # Left for the next run; nothing of it is committed, so nothing is lost.
            scope.report.deferred()
            return ParentOutcome(entity, Left.DEFERRED)
        try:
            before = tracked(scope.store.load_members(entity))
        except SnapshotUnavailable as exc:
            return ParentOutcome(entity, Left.SNAPSHOT, region.snapshot_failure("load", exc.reason))
        loaded = region.snapshot.outbox.get(outbox_subject(entity))
        members_now, failure = self._read_members(observation, before, loaded)
        view = ParentView(
            observation, region.previous(entity.kind).get(entity), before, members_now, loaded
        )
        in_baseline = region.in_baseline(entity.kind)
        changes = parent_changes(view, in_baseline=in_baseline, mode=scope.settings.baseline_mode)
        stalls = (
            []
            if in_baseline
            else parent_stalls(view, changes.member_changes, scope.now, scope.stuck_after)
        )
        muting = apply_mutes(scope.settings.mutes, scope.now, changes.to_publish, stalls)
        log_muted(muting)
        pending = Pending(region, view, changes, stalls, muting, failure, in_baseline)
        if muting.kept or muting.kept_stuck:
            return pending
        return self.finish(pending, None)

    def finish(self, pending: Pending, sent: Sent | None) -> ParentOutcome:
        """Commit the members of a rule or pack whose message went out (or that had none)."""
        scope, region, view = self._scope, pending.region, pending.view
        entity, failure = view.entity, pending.failure
        outbox = view.loaded
        if sent is not None:
            if sent.not_recorded is not None:
                return self._not_recorded(pending, sent.not_recorded)
            if sent.refused:
                # Its transitions go again next run (dispatch counted the failed message).
                return ParentOutcome(entity, Left.PUBLISH_FAILED, failure)
            outbox = sent.outbox
        changes, stalls = pending.changes, pending.stalls
        left, commit_failure, saved = self._commit_members(
            region, view, changes.member_changes, stalls
        )
        left = left or (Left.CONFLICT if saved.conflicts else None)
        failure = commit_failure or failure
        scope.report.held_by_mutes(len(pending.muting.held))
        log_already_told(changes.already_told)
        published = outbox if sent is not None and pending.muting.kept else None
        if left is not None and published is not None:
            # SNS took the message and the commit failed: the next run commits, not repeats it.
            outbox = scope.courier.mark_taken(
                (entity.region, entity.admin_account), outbox_subject(entity), published
            )
        return ParentOutcome(
            entity,
            left,
            failure,
            parent_record(
                view.stored,
                view.observation,
                scope.stamp,
                reported_stuck=any(s.entity == entity for s in stalls),
                members_in_step=view.members_now is not None and left is None,
                announce_members=view.stored is None and not pending.in_baseline,
            ),
            # Its outbox goes once the region's commit holds this; not while members are unknown.
            outbox=None if changes.unresolved else outbox,
            failing_members=sum(1 for o in view.members_now or [] if o.status.is_failed),
            published=published,
        )

    def _not_recorded(
        self, pending: Pending, error: SnapshotUnavailable | OutboxTaken
    ) -> ParentOutcome:
        entity, region = pending.view.entity, pending.region
        if isinstance(error, OutboxTaken):
            self._scope.report.conflict()
            return ParentOutcome(entity, Left.BUSY, pending.failure)
        # Not recorded, so not published: the next run finds the change again.
        failure = region.snapshot_failure("outbox", error.reason)
        return ParentOutcome(entity, Left.SNAPSHOT, failure)

    def _read_members(
        self, observation: Observation, before: Chunked, loaded: Outbox | None
    ) -> tuple[list[Observation] | None, SourceFailure | None]:
        """Its members that are not healthy now, and those that subscribers may know as not
        healthy: committed so, or told so by a run that could not commit (docs/design.md
        rule 7). A member told and since healthy again must be read to tell its recovery."""
        entity = observation.entity
        told = loaded.told if loaded else {}
        recheck = {e.account_id for e in before.records}
        recheck |= {e.account_id for e in told if e != entity}
        try:
            members = read_unhealthy_members(
                self._config_for(entity.region, entity.admin_account),
                entity,
                self._calls,
                settled=observation.status.is_settled_ok,
                recheck=recheck,
            )
        except SourceUnreadable as exc:
            source = f"{entity.kind.value} {entity.name}"
            return None, SourceFailure(entity.region, source, exc.reason, entity.admin_account)
        return members, None

    def _commit_members(
        self, region: Region, view: ParentView, changes: list[Transition], stalls: list[Stuck]
    ) -> tuple[Left | None, SourceFailure | None, ChunkCommit]:
        """Commit the members now; muted stalls are marked too, as if delivered."""
        scope = self._scope
        stalled = [s.entity for s in stalls if s.entity != view.entity]
        try:
            saved = scope.committer.members(view.entity, view.members_before, changes, stalled)
        except SnapshotUnavailable as exc:
            return Left.COMMIT_FAILED, region.snapshot_failure("commit", exc.reason), ChunkCommit()
        return None, None, saved


def log_muted(muting: Muting) -> None:
    """Each transition or stall a mute held back: committed, not published."""
    for entity, severity in muting.held:
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


def log_already_told(transitions: Sequence[Transition]) -> None:
    """Each transition an earlier run's message told, which SNS took: committed, not repeated."""
    for t in transitions:
        logger.info(
            "told by an earlier run: committed, not published again",
            extra={
                "region": t.entity.region,
                "kind": t.entity.kind.value,
                "entity_name": t.entity.name,
                "account_id": t.entity.account_id or None,
            },
        )
