"""The reminder digest: one message listing what is still failing or stuck. Pure: no I/O.

Like every message it fits SNS (docs/design.md rule 6): deployments and their accounts are cut
with "and N more", never silently.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from config_notifier.model import Message, Severity
from config_notifier.reminders import Broken, Reminder
from config_notifier.wording import (
    CHAT_DESCRIPTION_CHARS,
    EMOJI,
    MAX_SUBJECT,
    SCHEMA_VERSION,
    SHORT,
    TEXT_ERROR_CHARS,
    Context,
    Limits,
    ascii_only,
    chat_lines,
    console_url,
    count,
    error_line,
    fitted,
    for_how_long,
    minutes_since,
    status_doc,
)

DIGEST_SCHEMA = "config-deployment-notifier.reminder-digest"

DIGEST_DEPLOYMENTS = 25  # deployments an email lists before "and N more"

DIGEST_ACCOUNTS = 10  # accounts listed under each deployment before "and N more"


def render_digest(
    reminders: Sequence[Reminder], context: Context, *, interval: timedelta
) -> Message:
    """The one reminder message of a run, listing `reminders` (at least one)."""
    digest = _Digest(tuple(reminders), context, interval)
    return fitted(digest.message)


@dataclass(frozen=True, slots=True)
class _Digest:
    reminders: tuple[Reminder, ...]
    context: Context
    interval: timedelta

    def message(self, limits: Limits) -> Message:
        text = self.text(limits)
        bodies = {"default": text, "email": text, "https": json.dumps(self.chatbot(limits))}
        bodies["sqs"] = bodies["lambda"] = json.dumps(self.document(limits))
        return Message(
            subject=self.subject,
            bodies=bodies,
            attributes={
                "event_type": "reminder",
                "severity": self.severity.value,
                "kind": "reminder",
                "status": "STILL_BROKEN",
                "name": "reminder",
            },
            group_key="reminder-digest",
        )

    @property
    def severity(self) -> Severity:
        return min((r.severity for r in self.reminders), key=lambda s: s.rank)

    @property
    def headline(self) -> str:
        where: dict[str, list[str]] = {}
        for r in self.reminders:
            where.setdefault(r.deployment.name, []).append(_where(r))
        return f"{self._head}: " + ", ".join(f"{n} ({', '.join(w)})" for n, w in where.items())

    @property
    def _names(self) -> list[str]:
        # A pack failing in two regions is one deployment to its readers, named once.
        return list(dict.fromkeys(r.deployment.name for r in self.reminders))

    @property
    def _head(self) -> str:
        """How many deployments, and in how many regions when more than one: the subject's and
        the body's first words alike."""
        regions = len({r.deployment.region for r in self.reminders})
        where = f" in {regions} regions" if regions > 1 else ""
        return f"[REMINDER] {count(len(self._names), 'deployment')} still failing or stuck{where}"

    @property
    def subject(self) -> str:
        """Within SNS's 100 characters: the names give way from the end, whole, to "and N more"."""
        head, names = self._head, self._names
        n = len(names)
        for shown in range(len(names), 0, -1):
            more = f", and {n - shown} more" if shown < n else ""
            line = f"{head}: {', '.join(names[:shown])}{more}"
            if len(line) <= MAX_SUBJECT:
                return ascii_only(line)
        return ascii_only(head)[:MAX_SUBJECT]

    def _accounts(self, reminder: Reminder, limit: int) -> list[str]:
        lines = [
            f"{_tag(b)} {self.context.account(b.entity.account_id)}  {b.status.status} "
            f"{for_how_long(b.since, self.context)}"
            + (f" ({b.status.error_code})" if b.status.error_code else "")
            for b in reminder.members[:limit]
        ]
        if len(reminder.members) > limit:
            lines.append(f"... and {len(reminder.members) - limit} more accounts")
        return lines

    def _own(self, own: Broken) -> str:
        return (
            f"{_tag(own)} {own.status.status} since {own.since} "
            f"({for_how_long(own.since, self.context)})"
        )

    def text(self, limits: Limits) -> str:
        context = self.context
        listed = min(DIGEST_DEPLOYMENTS, limits.text)
        accounts = min(DIGEST_ACCOUNTS, limits.text)
        lines = [
            self.headline,
            "",
            f"Still failing or stuck, as last reported (this reminder comes at most every "
            f"{_hours(self.interval)}; a fixed deployment drops out):",
        ]
        for r in self.reminders[:listed]:
            lines += [
                "",
                f"{SHORT.get(r.deployment.kind, r.deployment.kind.value)} "
                f'"{r.deployment.name}" in {_where(r)}',
            ]
            if r.deployment.admin_account:
                lines.append(f"  Deployed by {context.deployer(r.deployment.admin_account)}")
            if r.own is not None:
                lines.append(f"  {self._own(r.own)}")
                if error := error_line(r.own.status, TEXT_ERROR_CHARS):
                    lines.append(f"    {error}")
            if r.members:
                lines.append(f"  {count(len(r.members), 'member account')}:")
                lines += [f"    {line}" for line in self._accounts(r, accounts)]
            lines.append(
                f"  {console_url(r.deployment.region, r.deployment.kind, r.deployment.name)}"
            )
        if len(self.reminders) > listed:
            lines += [
                "",
                f"... and {len(self.reminders) - listed} more deployments "
                "(the JSON document on the topic lists them)",
            ]
        lines += [
            "",
            f"Sent by config-deployment-notifier at {context.sent_at} (run {context.run_id}).",
        ]
        return "\n".join(lines)

    def chatbot(self, limits: Limits) -> dict[str, Any]:
        lines: list[str] = []
        for r in self.reminders[: limits.chat]:
            lines.append(f"*{r.deployment.name}* ({SHORT.get(r.deployment.kind, '')}, {_where(r)})")
            if r.own is not None:
                lines.append(f"    {self._own(r.own)}")
            lines += [
                f"• `{line}`" if not line.startswith("...") else line
                for line in self._accounts(r, min(limits.chat, DIGEST_ACCOUNTS))
            ]
        if len(self.reminders) > limits.chat:
            lines.append(
                f"…and {len(self.reminders) - limits.chat} more deployments (see the email)"
            )
        return {
            "version": "1.0",
            "source": "custom",
            "id": f"{self.context.run_id}:reminder",
            "content": {
                "textType": "client-markdown",
                "title": f"{EMOJI[self.severity]} {chat_lines([self.headline], 250, '…')}",
                "description": chat_lines(lines, CHAT_DESCRIPTION_CHARS, "…(cut; see the email)"),
                "keywords": ["reminder"],
            },
            "metadata": {
                "threadId": "reminder-digest",
                "summary": self.subject,
                "eventType": "config-deployment-reminder",
            },
        }

    def document(self, limits: Limits) -> dict[str, Any]:
        context = self.context
        return {
            "schema": DIGEST_SCHEMA,
            "version": SCHEMA_VERSION,
            "run_id": context.run_id,
            "sent_at": context.sent_at,
            "interval_hours": self.interval // timedelta(hours=1),
            "severity": self.severity.value,
            "deployments": [
                {
                    "region": r.deployment.region,
                    "kind": r.deployment.kind.value,
                    "name": r.deployment.name,
                    "admin_account": r.deployment.admin_account or None,
                    "since": r.since,
                    "minutes": minutes_since(r.since, context),
                    "status": _broken_doc(r.own, context) if r.own else None,
                    "accounts": [
                        _broken_doc(b, context)
                        | {
                            "account_id": b.entity.account_id,
                            "account_name": context.account_names.get(b.entity.account_id),
                        }
                        for b in r.members[: limits.json]
                    ],
                    "omitted_accounts": max(len(r.members) - limits.json, 0),
                }
                for r in self.reminders[: limits.json]
            ],
            "omitted_deployments": max(len(self.reminders) - limits.json, 0),
        }


def _broken_doc(b: Broken, context: Context) -> dict[str, Any]:
    return {
        "severity": b.severity.value,
        "since": b.since,
        "minutes": minutes_since(b.since, context),
        "status": status_doc(b.status),
    }


def _tag(b: Broken) -> str:
    return "FAILED" if b.severity is Severity.FAILURE else "STUCK "


def _where(r: Reminder) -> str:
    admin = r.deployment.admin_account
    return f"{r.deployment.region}, delegated admin {admin}" if admin else r.deployment.region


def _hours(interval: timedelta) -> str:
    return count(interval // timedelta(hours=1), "hour")
