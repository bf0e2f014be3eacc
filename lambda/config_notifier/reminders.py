"""Reminders: when a digest is due, and what it lists of what is still failing or stuck. Pure.

A rule or pack people were told is failing (or stuck), and that is still so one interval
(`REMINDER_HOURS`) later, is reminded in one digest message; a digest goes out at most once per
interval (docs/design.md, "Reminders"). The facts come from the snapshot, which holds what
subscribers were last told: a fixed deployment's recovery is committed and it drops out, and a
muted one is left out here, as its transitions were.

Whether a digest is due is decided from what every run loads anyway: the regions' own records and
the marker kept beside them (stored.Reminded). A run with nothing due reads nothing more; only a
due digest reads the member accounts of the rules and packs it may list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from config_notifier.model import EntityId, Kind, Record, Severity, Status
from config_notifier.mute import Mute, is_muted
from config_notifier.stored import Reminded


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


@dataclass(frozen=True, slots=True)
class Policy:
    """The reminder settings of one run, at its time."""

    interval: timedelta  # REMINDER_HOURS; zero or less: reminders are off
    stuck_after: timedelta  # STUCK_AFTER_MINUTES
    mutes: Sequence[Mute]
    now: datetime

    def due(self, reminded: Reminded | None, records: Iterable[Record]) -> bool:
        """A digest may go out now, judged from the regions' own records alone (no member
        account): reminders are on, none went out within the interval, and a rule or pack is
        overdue that the last look did not already weigh."""
        if self.interval <= timedelta(0):
            return False
        if reminded is not None and reminded.sent and self._age(reminded.sent) < self.interval:
            return False
        return any(self.overdue(r) and self._unweighed(r, reminded) for r in records)

    def overdue(self, record: Record) -> bool:
        """Whether a rule or pack may belong in a digest, by its own record: this account's pack
        failing or stuck for an interval, or an organization rule or pack not settled for an
        interval (its member accounts may be failing; a settled success means every member
        account succeeded, docs/design.md "What is watched"), and no mute covers it whole."""
        if not record.last_changed or self._age(record.last_changed) < self.interval:
            return False
        if record.entity.kind is Kind.ACCOUNT_PACK:
            own = broken(record, self.now, self.stuck_after)
            return own is not None and not is_muted(
                self.mutes, record.entity, own.severity, self.now
            )
        if record.status.is_settled_ok:
            return False
        # A mute of the rule or pack (of no one account) that holds for failures and stalls alike
        # covers every member account the digest could list.
        whole = [m for m in self.mutes if m.account is None]
        return not all(
            is_muted(whole, record.entity, severity, self.now)
            for severity in (Severity.FAILURE, Severity.STUCK)
        )

    def reminders(
        self, records: Mapping[EntityId, Record], members: Mapping[EntityId, Sequence[Record]]
    ) -> list[Reminder]:
        """Every overdue rule or pack still broken, worst and oldest first.

        `records` are rules and packs (of every region and deploying account), `members` the
        member records of the overdue organization rules and packs. A muted entity is left out; a
        deployment is listed when it or one of its member accounts is broken and unmuted.
        """
        listed: list[Reminder] = []
        for entity, record in records.items():
            if not self.overdue(record):
                continue
            own = self._kept(broken(record, self.now, self.stuck_after))
            found = [
                b for m in members.get(entity, ()) if (b := broken(m, self.now, self.stuck_after))
            ]
            kept = [b for b in found if self._kept(b)]
            if own is None and not kept:
                continue
            if found and not kept:
                continue  # broken only where it is muted: its own status says no more than that
            failing = tuple(sorted(kept, key=lambda b: (b.severity.rank, b.since)))
            listed.append(Reminder(entity, own, failing))
        return sorted(
            listed,
            key=lambda r: (
                r.severity.rank,
                r.since,
                r.deployment.admin_account,
                r.deployment.region,
            ),
        )

    def _unweighed(self, record: Record, reminded: Reminded | None) -> bool:
        """A look that found nothing to send (every failing account muted, or none failing) is
        not repeated for the same rule or pack within the interval; one overdue since is looked
        at now."""
        if reminded is None:
            return True
        checked = datetime.fromisoformat(reminded.checked)
        return (
            self.now - checked >= self.interval
            or datetime.fromisoformat(record.last_changed) > checked - self.interval
        )

    def _kept(self, item: Broken | None) -> Broken | None:
        if item is None or is_muted(self.mutes, item.entity, item.severity, self.now):
            return None
        return item

    def _age(self, stamp: str) -> timedelta:
        return self.now - datetime.fromisoformat(stamp)


def latest(marks: Iterable[Reminded | None]) -> Reminded | None:
    """The newest of the markers the regions keep (each region keeps a copy; one whose write
    failed, or a region added since, holds an older one or none)."""
    found = [m for m in marks if m is not None]
    if not found:
        return None
    sent = [m.sent for m in found if m.sent]
    return Reminded(
        max(sent, key=datetime.fromisoformat) if sent else None,
        max((m.checked for m in found), key=datetime.fromisoformat),
    )


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
