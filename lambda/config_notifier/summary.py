"""The baseline summary: the one message a region's first run sends (docs/design.md rule 3).
Pure: no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from config_notifier.model import EntityId, Kind, Message, Observation, Severity, SourceFailure
from config_notifier.stuck import stalled_since
from config_notifier.wording import (
    CHAT_DESCRIPTION_CHARS,
    MAX_SUBJECT,
    SCHEMA_VERSION,
    SUMMARY_SCHEMA,
    TEXT_ERROR_CHARS,
    Context,
    Limits,
    ascii_only,
    chat_escape,
    chat_lines,
    count,
    cut,
    fitted,
    for_how_long,
    minutes_since,
    status_doc,
)

SUMMARY_LISTED = 25  # failing (and stuck) rules and packs an email lists before "and N more"

UNREAD_LISTED = 10  # sources that could not be read, listed in the email


def render_baseline_summary(
    region: str,
    watched: Mapping[Kind, Sequence[Observation]],
    failing_members: Mapping[EntityId, int],
    unread: Sequence[SourceFailure],
    context: Context,
    *,
    admin_account: str = "",
    stuck_after: timedelta = timedelta(0),
) -> Message:
    """The one message a region's first run sends: what is watched now, what fails already, and
    what has been in progress for `stuck_after` or longer by AWS's own clock (0: not judged).

    Cut with "and N more" until it fits SNS, like any message (docs/design.md rule 6). A
    delegated administrator's region has a first run, and a summary, of its own.
    """
    summary = _Summary(
        region, watched, failing_members, unread, context, admin_account, stuck_after
    )
    return fitted(summary.message)


@dataclass(frozen=True, slots=True)
class _Stalled:
    observation: Observation
    since: str


@dataclass(frozen=True, slots=True)
class _Summary:
    region: str
    watched: Mapping[Kind, Sequence[Observation]]
    failing_members: Mapping[EntityId, int]
    unread: Sequence[SourceFailure]
    context: Context
    admin_account: str
    stuck_after: timedelta

    def message(self, limits: Limits) -> Message:
        text = self.text(limits)
        bodies = {"default": text, "email": text, "https": json.dumps(self.chatbot(limits))}
        bodies["sqs"] = bodies["lambda"] = json.dumps(self.document(limits))
        severity = (
            Severity.FAILURE
            if self.failing
            else Severity.STUCK
            if self.stalled
            else Severity.PROGRESS
        )
        return Message(
            subject=self.subject,
            bodies=bodies,
            attributes={
                "event_type": "baseline-summary",
                "severity": severity.value,
                "kind": "summary",
                "region": self.region,
                "status": "WATCHING",
                "name": self.region,
                **({"deployed_by": self.admin_account} if self.admin_account else {}),
            },
            group_key=self.thread,
        )

    @property
    def failing(self) -> list[Observation]:
        return [o for kind in self.watched for o in self.watched[kind] if o.status.is_failed]

    @property
    def stalled(self) -> list[_Stalled]:
        """In progress for the threshold or longer now, by the update time AWS reports."""
        now = datetime.fromisoformat(self.context.sent_at)
        stalled = [
            _Stalled(o, since)
            for kind in self.watched
            for o in self.watched[kind]
            if (since := stalled_since(o.status, now, self.stuck_after))
        ]
        return sorted(stalled, key=lambda s: s.since)  # the longest stuck first

    @property
    def counts(self) -> dict[Kind, int]:
        return {kind: len(observations) for kind, observations in self.watched.items()}

    @property
    def thread(self) -> str:
        admin = self.admin_account
        return f"{admin + '/' if admin else ''}{self.region}/baseline"

    @property
    def subject(self) -> str:
        """The headline within SNS's 100 characters: the counts of what is watched give way
        from the end, whole, before anything is cut."""
        head, parts = self._headline()
        while len(parts) > 1 and len(head + ", ".join(parts)) > MAX_SUBJECT:
            parts = parts[:-1]
        return ascii_only(head + ", ".join(parts))[:MAX_SUBJECT]

    @property
    def headline(self) -> str:
        """The subject in full: the email's first line and the chat card's title say it too."""
        head, parts = self._headline()
        return head + ", ".join(parts)

    def _headline(self) -> tuple[str, list[str]]:
        whose = f"{self.admin_account} deployments" if self.admin_account else "Config deployments"
        parts = [f"{len(self.failing)} failing"]
        parts += [f"{len(self.stalled)} stuck"] if self.stalled else []
        parts += [count(n, _SUBJECT_NOUN[kind]) for kind, n in self.counts.items()]
        return f"[WATCHING] {whose} in {self.region}: ", parts

    def failing_lines(self, limit: int) -> list[str]:
        failing = self.failing
        lines = []
        for o in failing[:limit]:
            accounts = self.failing_members.get(o.entity)
            detail = f", {accounts} member accounts failing" if accounts else ""
            error = f" ({o.status.error_code})" if o.status.error_code else ""
            lines.append(
                f'{o.entity.kind.label} "{o.entity.name}": {o.status.status}{error}{detail}'
            )
        return lines + _more(len(failing), limit)

    def stalled_lines(self, limit: int) -> list[str]:
        stalled = self.stalled
        lines = [
            f'{s.observation.entity.kind.label} "{s.observation.entity.name}": '
            f"{s.observation.status.status} since {s.since} ({for_how_long(s.since, self.context)})"
            for s in stalled[:limit]
        ]
        return lines + _more(len(stalled), limit)

    def text(self, limits: Limits) -> str:
        context, admin = self.context, self.admin_account
        listed = min(SUMMARY_LISTED, limits.text)
        of = f" of {context.deployer(admin)}" if admin else ""
        lines = [
            self.headline,
            "",
            f"Now watching AWS Config deployments{of} in {self.region}.",
            "",
        ]
        for kind, observations in self.watched.items():
            n_failing = sum(1 for o in observations if o.status.is_failed)
            lines.append(f"  {_PLURAL[kind] + ':':36} {len(observations):5} ({n_failing} failing)")
        if failing_lines := self.failing_lines(listed):
            lines += ["", "Failing right now:"] + [f"  - {line}" for line in failing_lines]
        if stalled_lines := self.stalled_lines(listed):
            lines += [
                "",
                "In progress for too long, by AWS's last-update time (the next run reports each "
                "as stuck):",
            ]
            lines += [f"  - {line}" for line in stalled_lines]
        if self.unread:
            shown = min(UNREAD_LISTED, limits.text)
            lines += ["", "Could not be read this run (watched as soon as they can be read):"]
            lines += [
                f"  - {f.source}: {cut(f.reason, TEXT_ERROR_CHARS)}" for f in self.unread[:shown]
            ]
            lines += [f"  {line}" for line in _more(len(self.unread), shown)]
        lines += [
            "",
            "This first run records what exists without a message for each item. From now on, "
            "every change of a deployment status in this region is reported.",
            "",
            f"Sent by config-deployment-notifier at {context.sent_at} (run {context.run_id}).",
        ]
        return "\n".join(lines)

    def chatbot(self, limits: Limits) -> dict[str, Any]:
        admin, region = self.admin_account, self.region
        lines = [f"*{_PLURAL[k]}:* {n}" for k, n in self.counts.items()]
        lines += [f"• {line}" for line in self.failing_lines(limits.chat)]
        lines += [f"• STUCK {line}" for line in self.stalled_lines(limits.chat)]
        return {
            "version": "1.0",
            "source": "custom",
            "id": f"{self.context.run_id}:{admin + ':' if admin else ''}{region}:baseline",
            "content": {
                "textType": "client-markdown",
                "title": f":eyes: {chat_escape(self.headline)}",
                "description": chat_lines(lines, CHAT_DESCRIPTION_CHARS, "…(cut; see the email)"),
                "keywords": [chat_escape(region), "baseline"] + ([admin] if admin else []),
            },
            "metadata": {
                "threadId": self.thread,
                "summary": self.subject,
                "eventType": "config-deployment-baseline",
            },
        }

    def document(self, limits: Limits) -> dict[str, Any]:
        context, failing, stalled = self.context, self.failing, self.stalled
        return {
            "schema": SUMMARY_SCHEMA,
            "version": SCHEMA_VERSION,
            "run_id": context.run_id,
            "sent_at": context.sent_at,
            "region": self.region,
            "admin_account": self.admin_account or None,
            "admin_account_name": context.account_names.get(self.admin_account),
            "watched": {kind.value: n for kind, n in self.counts.items()},
            "failing": [
                {
                    "kind": o.entity.kind.value,
                    "name": o.entity.name,
                    "status": status_doc(o.status),
                    "failing_members": self.failing_members.get(o.entity),
                }
                for o in failing[: limits.json]
            ],
            "omitted_failing": max(len(failing) - limits.json, 0),
            "stuck": [
                {
                    "kind": s.observation.entity.kind.value,
                    "name": s.observation.entity.name,
                    "status": status_doc(s.observation.status),
                    "since": s.since,
                    "minutes": minutes_since(s.since, context),
                }
                for s in stalled[: limits.json]
            ],
            "omitted_stuck": max(len(stalled) - limits.json, 0),
            "unread_sources": [
                {"source": f.source, "reason": cut(f.reason, TEXT_ERROR_CHARS)}
                for f in self.unread[: limits.json]
            ],
            "omitted_unread_sources": max(len(self.unread) - limits.json, 0),
        }


def _more(total: int, listed: int) -> list[str]:
    return [f"... and {total - listed} more"] if total > listed else []


_SUBJECT_NOUN = {
    Kind.ORG_RULE: "org rule",
    Kind.ORG_PACK: "org pack",
    Kind.ACCOUNT_PACK: "account pack",
}

_PLURAL = {
    Kind.ORG_RULE: "organization Config rules",
    Kind.ORG_PACK: "organization conformance packs",
    Kind.ACCOUNT_PACK: "conformance packs of this account",
}
