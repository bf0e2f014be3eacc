"""Phase four, once every region is closed: the reminder digest (docs/design.md, "Reminders").

When one is due, the committed snapshot of every region (and delegated administrator) says what
subscribers were last told; what is still failing or stuck for an interval goes out as one
message, through the same delivery as every other (no outbox: it tells no transition). The time
is recorded only after SNS accepted it, so a refused digest is tried again next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from config_notifier import SERVICE
from config_notifier.delivery import Letter
from config_notifier.digest import render_digest
from config_notifier.errors import SnapshotUnavailable
from config_notifier.model import EntityId, Record
from config_notifier.reminders import due, needs_members, reminders
from config_notifier.scope import Scope
from config_notifier.survey import Region

logger = Logger(service=SERVICE, child=True)

REMINDER_DIGEST = "#reminder-digest"  # tells no transition: no outbox of its own


def remind(scope: Scope, regions: Iterable[Region]) -> None:
    """Send the reminder digest if one is due and anything is still broken for the interval."""
    interval = timedelta(hours=scope.settings.reminder_hours)
    if interval <= timedelta(0):
        return
    store = scope.store
    try:
        last = store.last_reminder()
        if not due(datetime.fromisoformat(last) if last else None, scope.now, interval):
            return
        records, members = _committed(scope, list(regions))
    except SnapshotUnavailable as exc:
        # Nothing sent and nothing recorded: the next run tries again.
        logger.warning("reminder digest left to the next run", extra={"error": exc.reason})
        return
    listed = reminders(
        records,
        members,
        scope.settings.mutes,
        now=scope.now,
        interval=interval,
        stuck_after=scope.stuck_after,
    )
    if not listed:
        return
    needs_names = any(r.deployment.admin_account or r.members for r in listed)
    context = scope.messages.with_names() if needs_names else scope.messages.base
    message = render_digest(listed, context, interval=interval)
    sent = scope.courier.deliver(
        ("", ""), REMINDER_DIGEST, [Letter(message)], told={}, loaded=None, context=context
    )
    if sent.refused:
        scope.report.publish_failed("reminder digest", sent.refused[0][1])
        return
    scope.report.published([None])
    scope.report.reminded(len(listed))
    try:
        store.reminder_sent(scope.stamp)
    except SnapshotUnavailable as exc:
        # Sent but not recorded: the next run may send it again, a duplicate rather than a loss.
        logger.warning("reminder digest sent but not recorded", extra={"error": exc.reason})


def _committed(
    scope: Scope, regions: list[Region]
) -> tuple[dict[EntityId, Record], dict[EntityId, list[Record]]]:
    """Every region's rules and packs as committed by this run, and the members of those that
    are not settled. A region that cannot be loaded raises: a digest that silently left a
    region out would say it is fine."""
    records: dict[EntityId, Record] = {}
    for region in regions:
        records.update(scope.store.load_region(region.name, region.admin).records)
    members = {
        entity: list(scope.store.load_members(entity).records.values())
        for entity, record in records.items()
        if needs_members(record)
    }
    return records, members
