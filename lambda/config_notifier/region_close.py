"""Phase three, once every rule and pack of a region is done: the region's single messages
(account packs, and rules or packs that are gone), its one commit, the clean-up of the outboxes
it now holds, and, on its first run, the baseline summary (docs/design.md rule 3).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_lambda_powertools import Logger

from config_notifier import SERVICE
from config_notifier.audiences import letter_for
from config_notifier.changes import (
    account_pack_stalls,
    apply_mutes,
    single_changes,
    single_group,
    stuck_group,
    told_by,
    waiting_outboxes,
)
from config_notifier.delivery import Delivered, Letter
from config_notifier.errors import NotifierError, OutboxTaken, SnapshotUnavailable
from config_notifier.model import EntityId, Stuck, Transition
from config_notifier.parent_work import ParentOutcome, log_muted
from config_notifier.scope import Scope
from config_notifier.stored import SINGLES, Outbox, Told, outbox_subject
from config_notifier.summary import render_baseline_summary
from config_notifier.survey import SOURCES, Region

logger = Logger(service=SERVICE, child=True)

BASELINE_SUMMARY = "#baseline-summary"  # tells no transition: no outbox of its own


class RegionClose:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def close(self, region: Region, outcomes: Sequence[ParentOutcome]) -> None:
        scope = self._scope
        if region.snapshot is None:
            return  # its snapshot could not be loaded: the whole region waits for the next run
        # What earlier runs published of account packs and removed rules and packs, uncommitted.
        gone = waiting_outboxes(region, {outbox_subject(o.parent) for o in outcomes})
        singles = single_changes(
            region,
            told_by(gone, region.snapshot.outbox.get(SINGLES)),
            scope.settings.baseline_mode,
        )
        stalls = account_pack_stalls(region, scope.now, scope.stuck_after)
        muting = apply_mutes(scope.settings.mutes, scope.now, singles.to_publish, stalls)
        log_muted(muting)
        scope.report.held_by_mutes(len(muting.held))
        delivered, reported, singles_outbox = self._publish_singles(
            region, muting.kept, muting.kept_stuck, singles.unresolved
        )
        # Muted transitions and stalls are committed as if delivered.
        quiet = singles.quiet + [t for t in singles.to_publish if t not in muting.kept]
        reported += [s.entity for s in stalls if s not in muting.kept_stuck]
        if self._commit(region, outcomes, quiet + delivered, reported):
            # The snapshot now holds what these outboxes said.
            done = dict(gone)
            if singles_outbox is not None and not singles.unresolved:
                done[SINGLES] = singles_outbox
            done.update(
                (outbox_subject(o.parent), o.outbox)
                for o in outcomes
                if o.left is None and o.outbox
            )
            try:
                scope.committer.clean_outboxes(region.where, done)
            except SnapshotUnavailable as exc:
                # Left behind, they are published again next run: a duplicate, never a loss.
                self._write_failed(region, "outbox cleanup", exc)
        self._baseline_summary(region, outcomes)

    def _publish_singles(
        self, region: Region, singles: list[Transition], stuck: list[Stuck], unresolved: Told
    ) -> tuple[list[Transition], list[EntityId], Outbox | None]:
        """One message each, recorded in the outbox first, and one per stuck account pack; return
        what SNS took, the stalls it took, and the outbox (None: it must stay)."""
        scope = self._scope
        assert region.snapshot is not None  # noqa: S101 (the caller checked)
        context, routes = scope.messages.base, scope.settings.routes
        transitions = [single_group(t) for t in singles]
        letters = [
            letter_for(g, context, routes, frozenset(t.entity for t in g.transitions))
            for g in transitions
        ]
        stalls = [letter_for(g, context, routes) for g in map(stuck_group, stuck)]
        told = {**unresolved, **{t.entity: t.new for t in singles}} if singles else {}
        try:
            sent = scope.courier.deliver(
                region.where,
                SINGLES,
                letters + stalls,
                told=told,
                loaded=region.snapshot.outbox.get(SINGLES),
                context=context,
            )
        except SnapshotUnavailable as exc:
            self._write_failed(region, "outbox", exc)  # not recorded, so not published
            sent = scope.courier.deliver(
                region.where, SINGLES, stalls, told={}, loaded=None, context=context
            )
        except OutboxTaken:
            scope.report.conflict()
            region.unfinished.update(SOURCES)
            logger.info("another run is publishing this region's messages; left to the next run")
            return [], [], None
        self._count(region, sent)
        groups = [letter.group for letter in sent.accepted if letter.group is not None]
        return (
            [t for g in groups for t in g.transitions],
            [s.entity for g in groups for s in g.stuck],
            None if sent.unconfirmed else sent.outbox,
        )

    def _count(self, region: Region, sent: Delivered) -> None:
        report = self._scope.report
        report.published(letter.group for letter in sent.accepted)
        report.events(sent.events)
        for letter, refusal in sent.refused:
            group = letter.group
            report.publish_failed(f"{region.name}/{group.name}" if group else "", refusal)
            if group is not None and group.parent is not None:
                region.unfinished.add(group.kind)

    def _commit(
        self,
        region: Region,
        outcomes: Sequence[ParentOutcome],
        delivered: list[Transition],
        stuck: list[EntityId],
    ) -> bool:
        """Write the region's records once; True if the snapshot now holds everything delivered."""
        scope = self._scope
        assert region.snapshot is not None  # noqa: S101 (the caller checked)
        try:
            saved = scope.committer.region(
                region.where,
                region.snapshot,
                delivered,
                stalled=stuck,
                records={o.parent: o.record for o in outcomes if o.record is not None},
            )
        except SnapshotUnavailable as exc:
            self._write_failed(region, "commit", exc)
            return False
        if saved.conflicts:
            region.unfinished.update(SOURCES)  # an overlapping run wrote first: redo next run
        return saved.conflicts == 0

    def _baseline_summary(self, region: Region, outcomes: Sequence[ParentOutcome]) -> None:
        """Tell people once that a region is now watched; mark its sources done only if they
        heard."""
        scope = self._scope
        done = [
            kind
            for kind in SOURCES
            if region.in_baseline(kind) and kind in region.current and kind not in region.unfinished
        ]
        if not done:
            return
        context = scope.messages.with_names() if region.admin else scope.messages.base
        message = render_baseline_summary(
            region.name,
            {kind: region.current[kind] for kind in done},
            {o.parent: o.failing_members for o in outcomes},
            scope.report.failures_of(region.name, region.admin),
            context,
            admin_account=region.admin,
            stuck_after=scope.stuck_after,
        )
        sent = scope.courier.deliver(
            region.where, BASELINE_SUMMARY, [Letter(message)], told={}, loaded=None, context=context
        )
        if sent.refused:
            scope.report.publish_failed(f"baseline summary of {region.name}", sent.refused[0][1])
            return
        scope.report.published([None])
        for kind in done:
            scope.store.mark_baselined(region.name, kind.value, scope.stamp, region.admin)
        scope.report.baseline_told(region.name, region.admin)

    def _write_failed(self, region: Region, step: str, exc: NotifierError) -> None:
        region.unfinished.update(SOURCES)
        self._scope.report.source_failed(region.snapshot_failure(step, exc.reason))
