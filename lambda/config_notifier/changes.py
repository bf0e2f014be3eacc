"""Working out the changes: what to publish, what to commit without a message, what is stuck,
and what the mutes hold back. Pure: no I/O (docs/design.md, "Working out the changes").

Two shapes of work: an organization rule or pack with its member accounts (one message), and a
region's single messages (account packs, and rules or packs that are gone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from config_notifier.diff import diff_told, for_baseline
from config_notifier.model import (
    EntityId,
    Group,
    Kind,
    Observation,
    Record,
    Severity,
    Status,
    Stuck,
    Transition,
)
from config_notifier.mute import Mute, is_muted
from config_notifier.settings import BaselineMode
from config_notifier.stored import SINGLES, Chunked, Outbox, Told
from config_notifier.stuck import is_stuck, stuck_members, stuck_parent
from config_notifier.survey import SOURCES, Region


@dataclass(frozen=True, slots=True)
class ParentView:
    """One organization rule or pack as the run sees it: now, as committed, and as told."""

    observation: Observation
    stored: Record | None  # its record as committed
    members_before: Chunked  # its members as committed
    members_now: list[Observation] | None  # None: they could not be read this run
    loaded: Outbox | None  # what an earlier run published about it and could not commit

    @property
    def entity(self) -> EntityId:
        return self.observation.entity


@dataclass(frozen=True, slots=True)
class ParentChanges:
    to_publish: list[Transition]  # what the message tells
    member_changes: list[Transition]  # every member that moved, told or not (a baseline's)
    unresolved: Told  # what earlier runs told of members that could not be read this time
    # Told by an earlier run's message that SNS took, and not moved since: committed, not told
    # again (docs/design.md, "An outbox SNS took").
    already_told: list[Transition] = field(default_factory=list)


def already_told(
    transitions: Sequence[Transition], loaded: Outbox | None
) -> tuple[list[Transition], list[Transition]]:
    """`transitions` split into those to tell and those an earlier run's message already told:
    the outbox says SNS took the message telling the entity's status, and it has not moved since
    (its transition is the outbox's status again, which diff_told makes only to repeat it)."""
    if loaded is None or not loaded.delivered:
        return list(transitions), []
    return split_told(transitions, loaded.told, loaded.delivered)


def split_told(
    transitions: Sequence[Transition], told: Told, delivered: frozenset[EntityId]
) -> tuple[list[Transition], list[Transition]]:
    """already_told, for what several outboxes told (`told`, of which `delivered` surely)."""
    done = [
        t
        for t in transitions
        if t.entity in delivered and t.entity in told and told[t.entity] == t.new
    ]
    return [t for t in transitions if t not in done], done


def outbox_told(
    unresolved: Told, already: Sequence[Transition], kept: Sequence[Transition]
) -> Told:
    """What a new outbox says: what earlier runs told of what is unread now, what they told and
    SNS took (so that stays known should this run's commit fail too), and what it tells."""
    return {
        **unresolved,
        **{t.entity: t.new for t in already},
        **{t.entity: t.new for t in kept},
    }


def covered_by(
    delivered: frozenset[EntityId], unresolved: Told, *telling: Sequence[Transition]
) -> frozenset[EntityId]:
    """The entries of a new outbox that subscribers surely have once SNS took its messages: what
    they tell or already told (`telling`), and the unresolved entries the outboxes it replaces
    say they surely have (`delivered`)."""
    return frozenset({*(delivered & unresolved.keys()), *(t.entity for ts in telling for t in ts)})


def parent_changes(view: ParentView, *, in_baseline: bool, mode: BaselineMode) -> ParentChanges:
    """What to publish about a rule or pack and its members (rules 1 and 3)."""
    entity, stored = view.entity, view.stored
    pending = view.loaded.told if view.loaded else {}
    parent_told = {e: s for e, s in pending.items() if e == entity}
    members_told = {e: s for e, s in pending.items() if e != entity}
    parent_moves = diff_told({entity: stored} if stored else {}, parent_told, [view.observation])
    if view.members_now is None:
        member_changes, unresolved = [], members_told
    else:
        member_changes = diff_told(view.members_before.records, members_told, view.members_now)
        unresolved = {}
    # Members seen for the first time are a baseline too: when the region's source is new, or when
    # an earlier run recorded the rule or pack but could not read its members.
    quiet_members = in_baseline or (stored is not None and stored.detail_synced is None)
    to_publish = (for_baseline(parent_moves, mode) if in_baseline else parent_moves) + (
        for_baseline(member_changes, mode) if quiet_members else member_changes
    )
    to_publish, done = already_told(to_publish, view.loaded)
    return ParentChanges(to_publish, member_changes, unresolved, done)


def parent_stalls(
    view: ParentView, member_changes: Sequence[Transition], now: datetime, after: timedelta
) -> list[Stuck]:
    """The stalls of a rule or pack and of its member accounts that have not been reported."""
    if view.stored is None:
        return []
    stuck: list[Stuck] = []
    if is_stuck(view.stored, view.observation.status, now, after):
        members = view.members_now
        statuses = [o.status for o in members] if members is not None else None
        stuck.append(stuck_parent(view.stored, view.observation, statuses))
    moved_members = {t.entity for t in member_changes}
    return stuck + stuck_members(
        view.members_before.records,
        [o for o in view.members_now or [] if o.entity not in moved_members],
        now,
        after,
    )


@dataclass(frozen=True, slots=True)
class Muting:
    """What is left to publish once the mutes in force are applied, and what they held back.
    Held transitions and stalls are committed like delivered ones."""

    kept: list[Transition]
    kept_stuck: list[Stuck]
    held: list[tuple[EntityId, Severity]]


def apply_mutes(
    mutes: Sequence[Mute], now: datetime, transitions: Sequence[Transition], stuck: Sequence[Stuck]
) -> Muting:
    kept = [t for t in transitions if not is_muted(mutes, t.entity, t.severity, now)]
    kept_stuck = [s for s in stuck if not is_muted(mutes, s.entity, Severity.STUCK, now)]
    held = [(t.entity, t.severity) for t in transitions if t not in kept]
    held += [(s.entity, Severity.STUCK) for s in stuck if s not in kept_stuck]
    return Muting(kept, kept_stuck, held)


@dataclass(frozen=True, slots=True)
class SingleChanges:
    to_publish: list[Transition]  # one message each
    quiet: list[Transition]  # committed as they are: a baseline's, and the already told
    unresolved: Told  # what earlier runs told of sources unread this time
    already_told: list[Transition] = field(default_factory=list)  # as in ParentChanges


def waiting_outboxes(region: Region, handled: set[str]) -> dict[str, Outbox]:
    """Outboxes of rules and packs that are gone, which no rule or pack's work took up."""
    assert region.snapshot is not None  # noqa: S101 (the caller checked)
    return {
        subject: outbox
        for subject, outbox in region.snapshot.outbox.items()
        if subject not in handled and subject != SINGLES and _gone(subject, region)
    }


def single_changes(
    region: Region, pending: Told, mode: BaselineMode, delivered: frozenset[EntityId] = frozenset()
) -> SingleChanges:
    """Account packs and removed rules and packs: what to publish, what to commit quietly, and
    what earlier runs published of sources unread this time (`pending`; of which subscribers
    surely have `delivered`)."""
    to_publish: list[Transition] = []
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
        told_now = for_baseline(changes, mode) if region.in_baseline(kind) else changes
        to_publish += told_now
        quiet += [t for t in changes if t not in told_now]
    to_publish, done = split_told(to_publish, pending, delivered)
    return SingleChanges(to_publish, quiet + done, unresolved, done)


def account_pack_stalls(region: Region, now: datetime, after: timedelta) -> list[Stuck]:
    """The account packs stuck in progress and not yet reported (none in a baseline)."""
    account_packs = region.current.get(Kind.ACCOUNT_PACK)
    if account_packs is None or region.in_baseline(Kind.ACCOUNT_PACK):
        return []
    return stuck_members(region.previous(Kind.ACCOUNT_PACK), account_packs, now, after)


def parent_group(
    parent: EntityId,
    transitions: Sequence[Transition],
    current: Status | None,
    *,
    detail_read: bool,
    stuck: Sequence[Stuck] = (),
) -> Group:
    """One message about a rule or pack: its own transition, its members', its stalls."""
    return Group(
        region=parent.region,
        kind=parent.kind,
        name=parent.name,
        parent=next((t for t in transitions if t.entity == parent), None),
        current=current,
        members=tuple(t for t in transitions if t.entity != parent),
        detail_read=detail_read,
        stuck=tuple(stuck),
        admin_account=parent.admin_account,
    )


def single_group(t: Transition) -> Group:
    entity = t.entity
    return Group(
        entity.region, entity.kind, entity.name, t, t.new, admin_account=entity.admin_account
    )


def stuck_group(s: Stuck) -> Group:
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


def told_by(
    outboxes: Mapping[str, Outbox], loaded: Outbox | None
) -> tuple[dict[EntityId, Status | None], frozenset[EntityId]]:
    """What the region's singles outbox and the outboxes of gone rules and packs told, and which
    of it subscribers surely have (each entry as delivered as the outbox it was taken from)."""
    pending: dict[EntityId, Status | None] = {}
    delivered: set[EntityId] = set()
    # The newest outbox says what subscribers may have heard last (generations begin with their
    # run's time): a rule or pack removed after its own outbox was left tells its removal last.
    newest_last = sorted([*outboxes.values(), *([loaded] if loaded else [])], key=_generation)
    for outbox in newest_last:
        for entity, status in outbox.told.items():
            if outbox is loaded or entity.kind in SOURCES:
                pending[entity] = status
                if entity in outbox.delivered:
                    delivered.add(entity)
                else:
                    delivered.discard(entity)
    return pending, frozenset(delivered)


def _gone(subject: str, region: Region) -> bool:
    """True when the outbox's rule or pack is no longer there (its source read completely)."""
    kind, _, name = subject.partition("#")
    current = region.current.get(Kind(kind))
    return current is not None and all(o.entity.name != name for o in current)


def _generation(outbox: Outbox) -> str:
    return outbox.generation or ""
