"""Reminders: what a digest lists of what is still failing or stuck. Pure: no I/O.

A deployment people were told is failing (or stuck) and that is still so one interval
(`REMINDER_HOURS`) later is reminded in one digest message; a digest goes out at most once per
interval (docs/design.md, "Reminders"). The facts come from the snapshot, which holds what
subscribers were last told: a fixed deployment's recovery is committed and it drops out, and a
muted one is left out here, as its transitions were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from config_notifier.model import EntityId, Kind, Record, Severity, Status
from config_notifier.mute import Mute, is_muted


@dataclass(frozen=True, slots=True)
class Broken:
    """One entity still failing or stuck: its status and since when (its record's last_changed,
    when that state began)."""

    entity: EntityId
    status: Status
    since: str
    severity: Severity  # FAILURE or STUCK


@dataclass(frozen=True, slots=True)
class Reminder:
    """One still-broken deployment: the rule or pack itself (None when its own status is fine
    and only member accounts are broken) and its broken member accounts, worst and oldest first."""

    deployment: EntityId
    own: Broken | None
    members: tuple[Broken, ...]

    @property
    def since(self) -> str:
        """When the oldest of its broken states began."""
        return min([b.since for b in self.members] + ([self.own.since] if self.own else []))

    @property
    def severity(self) -> Severity:
        states = [b.severity for b in self.members] + ([self.own.severity] if self.own else [])
        return min(states, key=lambda s: s.rank)


def due(last_sent: datetime | None, now: datetime, interval: timedelta) -> bool:
    """A digest may go out: reminders are on, and none went out within the interval."""
    if interval <= timedelta(0):
        return False
    return last_sent is None or now - last_sent >= interval


def broken(record: Record, now: datetime, stuck_after: timedelta) -> Broken | None:
    """The record as a still-broken entity, or None when it is not failing or stuck."""
    status = record.status
    if status.is_failed:
        return Broken(record.entity, status, record.last_changed, Severity.FAILURE)
    if (
        status.is_in_progress
        and stuck_after > timedelta(0)
        and record.last_changed
        and now - datetime.fromisoformat(record.last_changed) >= stuck_after
    ):
        return Broken(record.entity, status, record.last_changed, Severity.STUCK)
    return None


def needs_members(record: Record) -> bool:
    """Whether the digest must look at this organization rule's or pack's member accounts: only
    one that is not settled can have a broken member (success means every member account,
    docs/design.md "AWS facts it relies on")."""
    return record.entity.kind in (Kind.ORG_RULE, Kind.ORG_PACK) and not record.status.is_settled_ok


def reminders(
    records: Mapping[EntityId, Record],
    members: Mapping[EntityId, Sequence[Record]],
    mutes: Sequence[Mute],
    *,
    now: datetime,
    interval: timedelta,
    stuck_after: timedelta,
) -> list[Reminder]:
    """Every deployment still broken for at least `interval`, oldest first.

    `records` are rules and packs (of every region and deploying account), `members` the member
    records of those that have them. A muted entity is left out; a deployment is listed when it
    or one of its member accounts is broken, unmuted, and has been so for the interval.
    """
    listed: list[Reminder] = []
    for entity, record in records.items():
        own = _kept(broken(record, now, stuck_after), mutes, now)
        found = [b for m in members.get(entity, ()) if (b := broken(m, now, stuck_after))]
        kept = [b for b in found if _kept(b, mutes, now)]
        if own is None and not kept:
            continue
        if found and not kept:
            continue  # broken only where it is muted: its own status says no more than that
        failing = tuple(sorted(kept, key=lambda b: (b.severity.rank, b.since)))
        reminder = Reminder(entity, own, failing)
        if now - datetime.fromisoformat(reminder.since) >= interval:
            listed.append(reminder)
    return sorted(
        listed,
        key=lambda r: (r.severity.rank, r.since, r.deployment.admin_account, r.deployment.region),
    )


def _kept(item: Broken | None, mutes: Sequence[Mute], now: datetime) -> Broken | None:
    if item is None or is_muted(mutes, item.entity, item.severity, now):
        return None
    return item
