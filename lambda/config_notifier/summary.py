"""The baseline summary: the one message a region's first run sends (docs/design.md rule 3).
Pure: no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config_notifier.model import EntityId, Kind, Message, Observation, Severity, SourceFailure
from config_notifier.wording import (
    CHAT_ACCOUNTS,
    JSON_TRANSITIONS,
    MAX_SUBJECT,
    SCHEMA_VERSION,
    SUMMARY_SCHEMA,
    TEXT_ERROR_CHARS,
    Context,
    ascii_only,
    count,
    cut,
    status_doc,
)

SUMMARY_FAILING_LISTED = 25


def render_baseline_summary(
    region: str,
    watched: Mapping[Kind, Sequence[Observation]],
    failing_members: Mapping[EntityId, int],
    unread: Sequence[SourceFailure],
    context: Context,
    *,
    admin_account: str = "",
) -> Message:
    """The one message a region's first run sends: what is watched now and what fails already.

    A delegated administrator's region has a first run, and a summary, of its own.
    """
    summary = _Summary(region, watched, failing_members, unread, context, admin_account)
    text = summary.text()
    bodies = {"default": text, "email": text, "https": json.dumps(summary.chatbot())}
    bodies["sqs"] = bodies["lambda"] = json.dumps(summary.document())
    return Message(
        subject=summary.subject,
        bodies=bodies,
        attributes={
            "event_type": "baseline-summary",
            "severity": (Severity.FAILURE if summary.failing else Severity.PROGRESS).value,
            "kind": "summary",
            "region": region,
            "status": "WATCHING",
            "name": region,
            **({"deployed_by": admin_account} if admin_account else {}),
        },
        group_key=summary.thread,
    )


@dataclass(frozen=True, slots=True)
class _Summary:
    region: str
    watched: Mapping[Kind, Sequence[Observation]]
    failing_members: Mapping[EntityId, int]
    unread: Sequence[SourceFailure]
    context: Context
    admin_account: str

    @property
    def failing(self) -> list[Observation]:
        return [o for kind in self.watched for o in self.watched[kind] if o.status.is_failed]

    @property
    def counts(self) -> dict[Kind, int]:
        return {kind: len(observations) for kind, observations in self.watched.items()}

    @property
    def thread(self) -> str:
        admin = self.admin_account
        return f"{admin + '/' if admin else ''}{self.region}/baseline"

    @property
    def subject(self) -> str:
        parts = [count(n, _SUBJECT_NOUN[kind]) for kind, n in self.counts.items()]
        whose = f"{self.admin_account} deployments" if self.admin_account else "Config deployments"
        failing = len(self.failing)
        line = f"[WATCHING] {whose} in {self.region}: {failing} failing, " + ", ".join(parts)
        return ascii_only(line)[:MAX_SUBJECT]

    def failing_lines(self) -> list[str]:
        failing = self.failing
        lines = []
        for o in failing[:SUMMARY_FAILING_LISTED]:
            accounts = self.failing_members.get(o.entity)
            detail = f", {accounts} member accounts failing" if accounts else ""
            error = f" ({o.status.error_code})" if o.status.error_code else ""
            lines.append(
                f'{o.entity.kind.label} "{o.entity.name}": {o.status.status}{error}{detail}'
            )
        if len(failing) > SUMMARY_FAILING_LISTED:
            lines.append(f"... and {len(failing) - SUMMARY_FAILING_LISTED} more")
        return lines

    def text(self) -> str:
        context, admin = self.context, self.admin_account
        of = f" of {context.deployer(admin)}" if admin else ""
        lines = [f"Now watching AWS Config deployments{of} in {self.region}.", ""]
        for kind, observations in self.watched.items():
            n_failing = sum(1 for o in observations if o.status.is_failed)
            lines.append(f"  {_PLURAL[kind] + ':':36} {len(observations):5} ({n_failing} failing)")
        if failing_lines := self.failing_lines():
            lines += ["", "Failing right now:"] + [f"  - {line}" for line in failing_lines]
        if self.unread:
            lines += ["", "Could not be read this run (watched as soon as they can be read):"]
            lines += [
                f"  - {f.source}: {cut(f.reason, TEXT_ERROR_CHARS)}" for f in self.unread[:10]
            ]
        lines += [
            "",
            "This first run records what exists without a message for each item. From now on, "
            "every change of a deployment status in this region is reported.",
            "",
            f"Sent by config-deployment-notifier at {context.sent_at} (run {context.run_id}).",
        ]
        return "\n".join(lines)

    def chatbot(self) -> dict[str, Any]:
        admin, region = self.admin_account, self.region
        return {
            "version": "1.0",
            "source": "custom",
            "id": f"{self.context.run_id}:{admin + ':' if admin else ''}{region}:baseline",
            "content": {
                "textType": "client-markdown",
                "title": f":eyes: {self.subject}",
                "description": "\n".join(
                    [f"*{_PLURAL[k]}:* {n}" for k, n in self.counts.items()]
                    + [f"• {line}" for line in self.failing_lines()[:CHAT_ACCOUNTS]]
                ),
                "keywords": [region, "baseline"] + ([admin] if admin else []),
            },
            "metadata": {
                "threadId": self.thread,
                "summary": self.subject,
                "eventType": "config-deployment-baseline",
            },
        }

    def document(self) -> dict[str, Any]:
        context = self.context
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
                for o in self.failing[:JSON_TRANSITIONS]
            ],
            "unread_sources": [{"source": f.source, "reason": f.reason} for f in self.unread],
        }


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
