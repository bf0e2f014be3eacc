"""Phase three, once every rule and pack of a region is done: the region's single messages
(account packs, and rules or packs that are gone), its one commit, the clean-up of the outboxes
it now holds, and, on its first run, the baseline summary (docs/design.md rule 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from config_notifier import SERVICE
from config_notifier.changes import (
    Muting,
    SingleChanges,
    account_pack_stalls,
    apply_mutes,
    covered_by,
    outbox_told,
    single_changes,
    single_group,
    stuck_group,
    told_by,
    waiting_outboxes,
)
from config_notifier.delivery import Letter
from config_notifier.dispatch import Piece, Sent
from config_notifier.errors import NotifierError, OutboxTaken, SnapshotUnavailable
from config_notifier.model import EntityId, Stuck, Transition
from config_notifier.parent_work import ParentOutcome, log_already_told, log_muted
from config_notifier.scope import Scope
from config_notifier.stored import SINGLES, Outbox, outbox_subject
from config_notifier.summary import render_baseline_summary
from config_notifier.survey import SOURCES, Region

logger = Logger(service=SERVICE, child=True)

BASELINE_SUMMARY = "#baseline-summary"  # tells no transition: no outbox of its own


@dataclass(frozen=True, slots=True)
class Singles:
    """A region's single messages, worked out before the run's messages go out."""

    gone: dict[str, Outbox]  # outboxes of rules and packs that are gone
    changes: SingleChanges
    stalls: list[Stuck]
    muting: Muting
    delivered: frozenset[EntityId] = frozenset()  # what subscribers surely have of the outboxes

    def piece(self, region: Region) -> Piece | None:
        """Their share of the run's messages, in the region's singles outbox; None: nothing."""
        assert region.snapshot is not None  # noqa: S101 (only made for a loaded region)
        kept, stuck = self.muting.kept, self.muting.kept_stuck
        if not kept and not stuck:
            return None
        groups = [single_group(t) for t in kept] + [stuck_group(s) for s in stuck]
        changes = self.changes
        told = outbox_told(changes.unresolved, changes.already_told, kept)
        return Piece(
            region.where,
            SINGLES,
            told if kept else {},
            region.snapshot.outbox.get(SINGLES),
            tuple(groups),
            tuple(frozenset(t.entity for t in g.transitions) for g in groups),
            covered_by(self.delivered, changes.unresolved, changes.already_told, kept),
        )


class RegionClose:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def singles(self, region: Region, parents: Sequence[EntityId]) -> Singles | None:
        """What the region tells outside its rules and packs (`parents`): account packs, and
        rules or packs that are gone. None: its snapshot could not be loaded."""
        scope = self._scope
        if region.snapshot is None:
            return None
        # What earlier runs published of account packs and removed rules and packs, uncommitted.
        gone = waiting_outboxes(region, {outbox_subject(p) for p in parents})
        told, delivered = told_by(gone, region.snapshot.outbox.get(SINGLES))
        changes = single_changes(region, told, scope.settings.baseline_mode, delivered)
        stalls = account_pack_stalls(region, scope.now, scope.stuck_after)
        muting = apply_mutes(scope.settings.mutes, scope.now, changes.to_publish, stalls)
        log_muted(muting)
        log_already_told(changes.already_told)
        scope.report.held_by_mutes(len(muting.held))
        return Singles(gone, changes, stalls, muting, delivered)

    def close(
        self,
        region: Region,
        outcomes: Sequence[ParentOutcome],
        singles: Singles | None,
        sent: Sent | None,
    ) -> None:
        """The region's commit, the clean-up of the outboxes it now holds, and on its first run
        the baseline summary."""
        if region.snapshot is None or singles is None:
            return  # its snapshot could not be loaded: the whole region waits for the next run
        delivered, reported, singles_outbox = self._singles_sent(region, singles, sent)
        # Muted transitions and stalls are committed as if delivered.
        changes, muting = singles.changes, singles.muting
        quiet = changes.quiet + [t for t in changes.to_publish if t not in muting.kept]
        reported += [s.entity for s in singles.stalls if s not in muting.kept_stuck]
        if self._commit(region, outcomes, quiet + delivered, reported):
            # The snapshot now holds what these outboxes said. Not the singles' when a message
            # of theirs was refused: what it took back is not committed. Nor then the gone rules'
            # and packs': theirs may be the only record of a removal not yet told.
            done = dict(singles.gone) if singles_outbox is not None else {}
            if singles_outbox is not None and not changes.unresolved:
                done[SINGLES] = singles_outbox
            done.update(
                (outbox_subject(o.parent), o.outbox)
                for o in outcomes
                if o.left is None and o.outbox
            )
            stayed, errors = self._scope.committer.clean_outboxes(region.where, done)
            for subject, outbox in stayed.items():
                # Its statuses are committed: marked, the next run has nothing to tell of them
                # (only this run's outboxes can be; another's is told again, never lost).
                self._scope.courier.mark_taken(region.where, subject, outbox)
            if errors:
                self._write_failed(region, "outbox cleanup", SnapshotUnavailable("; ".join(errors)))
        else:
            self._release_members(region, outcomes)
            if sent is not None and sent.accepted:
                # SNS took what the singles outbox covers: the next run commits, not repeats it.
                self._scope.courier.mark_taken(region.where, SINGLES, singles_outbox)
        self._baseline_summary(region, outcomes)

    def _release_members(self, region: Region, outcomes: Sequence[ParentOutcome]) -> None:
        """The region's commit failed, so the outboxes stay for the next run; but the members of
        each rule or pack committed this run are in the snapshot already, so its outbox keeps only
        the rule's or pack's own status (docs/design.md rule 2). Left in it, a member told
        healthy, which the snapshot does not keep (rule 7), would read as never told and be told
        again. An outbox whose message SNS took this run is marked so: the next run commits what
        it told without telling it again."""
        courier = self._scope.courier
        for outcome in outcomes:
            if outcome.left is not None:
                continue
            subject = outbox_subject(outcome.parent)
            outbox = outcome.outbox
            if outbox is not None:
                own = {e: s for e, s in outbox.told.items() if not e.kind.is_member}
                if len(own) < len(outbox.told):
                    outbox = courier.rewrite(
                        region.where, subject, outbox, own, "after the region's commit failed"
                    )
            else:
                outbox = outcome.published  # its members are unresolved: all of it stays
            if outcome.published is not None:
                courier.mark_taken(region.where, subject, outbox)

    def _singles_sent(
        self, region: Region, singles: Singles, sent: Sent | None
    ) -> tuple[list[Transition], list[EntityId], Outbox | None]:
        """What SNS took of the singles, the stalls it took, and the outbox (None: it must
        stay)."""
        assert region.snapshot is not None  # noqa: S101 (the caller checked)
        if sent is None:
            return [], [], region.snapshot.outbox.get(SINGLES)
        if isinstance(sent.not_recorded, OutboxTaken):
            self._scope.report.conflict()
            region.unfinished.update(SOURCES)
            logger.info("another run is publishing this region's messages; left to the next run")
            return [], [], None
        if sent.not_recorded is not None:
            self._write_failed(region, "outbox", sent.not_recorded)  # so not published
        for group, _ in sent.refused:
            if group.parent is not None:
                region.unfinished.add(group.kind)
        # A refused message's entries went back to what an earlier run told, which the commit
        # does not hold: its outbox must stay to tell the next run.
        refused = any(group.transitions for group, _ in sent.refused)
        return (
            [t for g in sent.accepted for t in g.transitions],
            [s.entity for g in sent.accepted for s in g.stuck],
            None if sent.unconfirmed or sent.not_recorded or refused else sent.outbox,
        )

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
