"""Phase two: one organization rule or pack with its member accounts, from read to commit.

Read its members, work out the changes, deliver one message, commit its members; its own record
goes to the region's commit. Its members are done before the next rule's or pack's, so memory
follows one rule or pack, and rules and packs are worked on side by side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from aws_lambda_powertools import Logger

from config_notifier import SERVICE
from config_notifier.changes import (
    Muting,
    ParentView,
    apply_mutes,
    parent_changes,
    parent_group,
    parent_stalls,
)
from config_notifier.commit import parent_record, tracked
from config_notifier.delivery import Letter
from config_notifier.errors import OutboxTaken, SnapshotUnavailable, SourceUnreadable
from config_notifier.model import EntityId, Observation, Record, SourceFailure, Stuck, Transition
from config_notifier.read import CallCounter, read_unhealthy_members
from config_notifier.render import render
from config_notifier.scope import Scope
from config_notifier.stored import ChunkCommit, Chunked, Outbox, Told, outbox_subject
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

    def reconcile(self, region: Region, observation: Observation) -> ParentOutcome:
        """Read, diff, deliver and commit one organization rule or pack with its members."""
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
        outbox = view.loaded
        if muting.kept or muting.kept_stuck:
            try:
                outbox = self._deliver(region, view, muting, changes.unresolved)
            except _NotDelivered as not_delivered:
                return ParentOutcome(entity, not_delivered.left, not_delivered.failure or failure)
        left, commit_failure, saved = self._commit_members(
            region, view, changes.member_changes, stalls
        )
        left = left or (Left.CONFLICT if saved.conflicts else None)
        failure = commit_failure or failure
        scope.report.held_by_mutes(len(muting.held))
        return ParentOutcome(
            entity,
            left,
            failure,
            parent_record(
                view.stored,
                observation,
                scope.stamp,
                reported_stuck=any(s.entity == entity for s in stalls),
                members_in_step=members_now is not None and left is None,
                announce_members=view.stored is None and not in_baseline,
            ),
            # Its outbox goes once the region's commit holds this; not while members are unknown.
            outbox=None if changes.unresolved else outbox,
            failing_members=sum(1 for o in members_now or [] if o.status.is_failed),
        )

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

    def _deliver(
        self, region: Region, view: ParentView, muting: Muting, unresolved: Told
    ) -> Outbox | None:
        """One message about the rule or pack; the outbox as it stands after it."""
        scope, entity = self._scope, view.entity
        group = parent_group(
            entity,
            muting.kept,
            view.observation.status,
            detail_read=view.members_now is not None,
            stuck=muting.kept_stuck,
        )
        context = scope.messages.for_group(group)
        told = {**unresolved, **{t.entity: t.new for t in muting.kept}} if muting.kept else {}
        # The outbox holds this rule's or pack's message alone: a refusal takes all of it back.
        answers = frozenset({*told, *(view.loaded.told if view.loaded else {})})
        try:
            delivered = scope.courier.deliver(
                (entity.region, entity.admin_account),
                outbox_subject(entity),
                [Letter(render(group, context), group, answers)],
                told=told,
                loaded=view.loaded,
                context=context,
            )
        except SnapshotUnavailable as exc:
            # Not recorded, so not published: the next run finds the change again.
            raise _NotDelivered(
                Left.SNAPSHOT, region.snapshot_failure("outbox", exc.reason)
            ) from exc
        except OutboxTaken as exc:
            logger.info(
                "another run is publishing this rule or pack; left to it and the next run",
                extra={"region": entity.region, "entity": entity.name},
            )
            scope.report.conflict()
            raise _NotDelivered(Left.BUSY) from exc
        scope.report.events(delivered.events)
        if delivered.refused:
            # One letter: its refusal is the message's; the transitions go again next run.
            scope.report.publish_failed(entity.name, delivered.refused[0][1])
            raise _NotDelivered(Left.PUBLISH_FAILED)
        scope.report.published([group])
        return delivered.outbox

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


class _NotDelivered(Exception):
    """Inside this module only: the message was not delivered, and why."""

    def __init__(self, left: Left, failure: SourceFailure | None = None) -> None:
        super().__init__(left.value)
        self.left = left
        self.failure = failure


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
