"""Phase four, once every region is closed: the reminder digest (docs/design.md, "Reminders").

Whether one is due is decided from what the survey loaded, every region's records and the marker
kept among them: a run with nothing due makes no call of its own. When one is due, the committed
snapshot of every region (and delegated administrator) says what subscribers were last told; what
is still failing or stuck for an interval goes out as one message, through the same delivery as
every other (no outbox: it tells no transition), with a copy for each route of the part it
matches (docs/messages.md, "Routes"). The marker moves only after SNS accepted it, so a
refused digest is tried again next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from aws_lambda_powertools import Logger

from config_notifier import SERVICE
from config_notifier.audiences import copies
from config_notifier.delivery import Letter
from config_notifier.digest import render_digest
from config_notifier.errors import SnapshotUnavailable
from config_notifier.model import EntityId, Kind, Record
from config_notifier.reminders import Policy, Reminder, latest
from config_notifier.routing import Route, restrict_reminder
from config_notifier.scope import Scope
from config_notifier.stored import Reminded
from config_notifier.survey import Region

logger = Logger(service=SERVICE, child=True)

REMINDER_DIGEST = "#reminder-digest"  # tells no transition: no outbox of its own


def remind(scope: Scope, regions: Iterable[Region]) -> None:
    """Send the reminder digest if one is due and anything is still broken for the interval."""
    settings = scope.settings
    interval = timedelta(hours=settings.reminder_hours)
    policy = Policy(interval, scope.stuck_after, settings.mutes, scope.now)
    every = list(regions)
    loaded = [r.snapshot for r in every if r.snapshot is not None]
    reminded = latest(s.reminded for s in loaded)
    if not policy.due(reminded, (record for s in loaded for record in s.records.values())):
        return
    try:
        records, members = _committed(scope, every, policy)
    except SnapshotUnavailable as exc:
        # Nothing sent and nothing recorded: the next run tries again.
        logger.warning("reminder digest left to the next run", extra={"error": exc.reason})
        return
    listed = policy.reminders(records, members)
    sent = reminded.sent if reminded is not None else None
    if listed:
        if not _send(scope, listed, policy):
            return  # refused: nothing recorded, so the next run sends it
        sent = scope.stamp
    # Recorded also when nothing was listed (every failing account muted, say), so the same
    # rules and packs are not read again before the interval is over.
    _mark(scope, every, Reminded(sent, scope.stamp))


def _send(scope: Scope, listed: list[Reminder], policy: Policy) -> bool:
    """Publish the digest; True when SNS took it."""
    needs_names = any(r.deployment.admin_account or r.members for r in listed)
    context = scope.messages.with_names() if needs_names else scope.messages.base
    # Each route gets the digest of what it matches, as it got their transitions.
    message, *routed = copies(
        listed,
        lambda part: render_digest(part, context, interval=policy.interval),
        _part_for,
        scope.settings.routes,
    )
    letter = Letter(message, routed=tuple(routed))
    sent = scope.courier.deliver(
        ("", ""), REMINDER_DIGEST, [letter], told={}, loaded=None, context=context
    )
    if sent.refused:
        scope.report.publish_failed("reminder digest", sent.refused[0][1])
        return False
    scope.report.published([None])
    scope.report.reminded(len(listed))
    return True


def _part_for(listed: list[Reminder], route: Route) -> list[Reminder] | None:
    """What of the digest's deployments `route` matches; None: nothing."""
    return [r for reminder in listed if (r := restrict_reminder(reminder, route))] or None


def _mark(scope: Scope, regions: list[Region], reminded: Reminded) -> None:
    """Keep the marker in every region's partition: the next run reads whichever it loads."""
    failed: list[str] = []
    for region in regions:
        try:
            scope.store.mark_reminded(region.name, reminded, region.admin)
        except SnapshotUnavailable as exc:
            where = f"{region.name}@{region.admin}" if region.admin else region.name
            failed.append(f"{where}: {exc.reason}")
    if failed:
        # A region whose copy is older is outvoted by the others; if none was written, the next
        # run may send the digest again: a duplicate rather than a loss.
        logger.warning("reminder digest marker not recorded everywhere", extra={"errors": failed})


def _committed(
    scope: Scope, regions: list[Region], policy: Policy
) -> tuple[dict[EntityId, Record], dict[EntityId, list[Record]]]:
    """Every region's rules and packs as committed by this run, and the members of the overdue
    organization rules and packs. A region that cannot be loaded raises: a digest that silently
    left a region out would say it is fine."""
    records: dict[EntityId, Record] = {}
    for region in regions:
        records.update(scope.store.load_region(region.name, region.admin).records)
    members = {
        entity: list(scope.store.load_members(entity).records.values())
        for entity, record in records.items()
        if entity.kind is not Kind.ACCOUNT_PACK and policy.overdue(record)
    }
    return records, members
