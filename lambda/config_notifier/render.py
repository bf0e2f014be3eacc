"""Step 4a, render: one message per group, for every kind of subscriber. Pure: no I/O.

Email and the default body are plain text a person reads at a glance; `https` is an AWS Chatbot
custom notification (how Slack subscribes); `sqs` and `lambda` get a versioned JSON document.
Everything fits SNS's limits: long lists are cut with "and N more", never silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from config_notifier.model import (
    Change,
    EntityId,
    Group,
    Kind,
    Message,
    Observation,
    Severity,
    SourceFailure,
    Status,
    Stuck,
    Transition,
)

SCHEMA = "config-deployment-notifier.transitions"
SCHEMA_VERSION = 1
SUMMARY_SCHEMA = "config-deployment-notifier.baseline-summary"

# SNS allows 256 KiB per publish (body, subject and attributes together); keep a margin for the
# JSON escaping SNS applies when it wraps the message for SQS and Lambda subscribers.
MAX_MESSAGE_BYTES = 240 * 1024
MAX_SUBJECT = 99  # "must be less than 100 characters"
TEXT_ACCOUNTS = 50  # accounts listed in an email before "and N more"
CHAT_ACCOUNTS = 10  # a Slack card stays readable
CHAT_DESCRIPTION_CHARS = 3_500
TEXT_ERROR_CHARS = 1_000
JSON_ERROR_CHARS = 4_000
JSON_TRANSITIONS = 1_000

_ICON = {
    Severity.FAILURE: "FAILED",
    Severity.STUCK: "STUCK",
    Severity.RECOVERY: "RECOVERED",
    Severity.PROGRESS: "UPDATE",
}
_EMOJI = {
    Severity.FAILURE: ":red_circle:",
    Severity.STUCK: ":large_orange_circle:",
    Severity.RECOVERY: ":large_green_circle:",
    Severity.PROGRESS: ":large_blue_circle:",
}
_SHORT = {
    Kind.ORG_RULE: "org rule",
    Kind.ORG_PACK: "org pack",
    Kind.ACCOUNT_PACK: "account pack",
}


@dataclass(frozen=True, slots=True)
class Context:
    """Facts about the run that every message carries."""

    run_id: str
    sent_at: str  # ISO 8601 UTC
    account_names: Mapping[str, str] = field(default_factory=dict)  # id -> name, where known

    def account(self, account_id: str) -> str:
        """`name (123456789012)` where the name is known, else the id alone."""
        name = self.account_names.get(account_id)
        return f"{name} ({account_id})" if name else account_id

    def deployer(self, admin_account: str) -> str:
        """Who deployed it, said in full: "" for the account the notifier runs in."""
        if not admin_account:
            return ""
        return f"delegated administrator {self.account(admin_account)}"


# How many accounts each body lists, tried in order until the message fits: the JSON document
# gives way first (a machine can ask the API for the rest), the email last.
_LIMITS = (
    (TEXT_ACCOUNTS, CHAT_ACCOUNTS, JSON_TRANSITIONS),
    (TEXT_ACCOUNTS, CHAT_ACCOUNTS, 250),
    (TEXT_ACCOUNTS, CHAT_ACCOUNTS, 50),
    (25, CHAT_ACCOUNTS, 25),
    (10, 5, 10),
    (3, 3, 3),
    (0, 0, 0),
)


def render(group: Group, context: Context) -> Message:
    """The message for `group`, cut down until it fits SNS's size limit."""
    for text_limit, chat_limit, json_limit in _LIMITS:
        message = _render(group, context, text_limit, chat_limit, json_limit)
        if message.size <= MAX_MESSAGE_BYTES:
            break
    return message


def ordered(transitions: Sequence[Transition]) -> list[Transition]:
    """Worst first: failures, then recoveries, then progress; then by account and name."""
    return sorted(
        transitions,
        key=lambda t: (t.severity.rank, t.entity.account_id, t.entity.name),
    )


def _render(
    group: Group, context: Context, text_limit: int, chat_limit: int, json_limit: int
) -> Message:
    members = ordered(group.members)
    subject = _subject(group)
    bodies = {
        "default": _text(group, members, context, text_limit),
        "https": json.dumps(_chatbot(group, members, context, chat_limit)),
        "sqs": json.dumps(_document(group, members, context, json_limit)),
    }
    bodies["email"] = bodies["default"]
    bodies["lambda"] = bodies["sqs"]
    return Message(
        subject=subject,
        bodies=bodies,
        attributes=_attributes(group),
        group_key=_thread(group),
    )


def _thread(group: Group) -> str:
    """What the message is about; a delegated administrator's rule is not this account's."""
    key = f"{group.region}/{group.kind.value}/{group.name}"
    return f"{group.admin_account}/{key}" if group.admin_account else key


def headline_status(group: Group) -> str:
    """The one status a filter policy and a subject talk about."""
    if group.current is not None:
        return group.current.status
    if group.parent is not None and group.parent.change is Change.DISAPPEARED:
        return "REMOVED"
    worst = ordered(group.members)
    return worst[0].new.status if worst and worst[0].new else "REMOVED"


def _attributes(group: Group) -> dict[str, str]:
    return {
        # A message that reports only a stall carries no transition.
        "event_type": "transition" if group.transitions else "stuck",
        "severity": group.severity.value,
        "kind": group.kind.value,
        "region": group.region,
        "status": headline_status(group),
        "name": group.name,
        # Only on what a delegated administrator deployed, so the management account's messages
        # stay as they were; a filter policy keeps either with {"exists": true/false}.
        **({"deployed_by": group.admin_account} if group.admin_account else {}),
    }


def _counts(members: Sequence[Transition]) -> tuple[int, int]:
    failed = sum(1 for t in members if t.severity is Severity.FAILURE)
    return failed, len(members)


def _subject(group: Group) -> str:
    """`[FAILED] ops-baseline (org pack) in eu-west-1: 3 accounts failing`: the name first."""
    failed, moved = _counts(group.members)
    what = _SHORT.get(group.kind, group.kind.value)
    tag = _ICON[group.severity]
    if group.severity is Severity.PROGRESS and group.parent is not None:
        tag = {Change.APPEARED: "NEW", Change.DISAPPEARED: "REMOVED"}.get(group.parent.change, tag)
    tail = ""
    if failed:
        tail = f": {_count(failed, 'account')} failing"
    elif moved:
        tail = f": {_count(moved, 'account')} changed"
    elif stuck_members := sum(1 for s in group.stuck if s.entity.account_id):
        tail = f": {_count(stuck_members, 'account')} stuck"
    elif group.stuck:
        tail = f": {group.stuck[0].status.status}"
    if group.admin_account:
        what = f"{what}, delegated admin {group.admin_account}"
    return _fit_subject(f"[{tag}] ", group.name, f" ({what}) in {group.region}", tail)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _fit_subject(head: str, name: str, where: str, tail: str) -> str:
    """Under SNS's 100 characters: the counts give way first, then the end of the name."""
    # SNS subjects are ASCII, start with a letter, digit or punctuation, and have no line breaks.
    name = _ascii(name)
    if len(head + name + where + tail) > MAX_SUBJECT:
        tail = ""
    room = MAX_SUBJECT - len(head) - len(where) - len(tail)
    if len(name) > room:
        name = name[: max(room - 3, 1)] + "..."
    return (head + name + where + tail)[:MAX_SUBJECT]


def _ascii(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]", "?", text)


def _cut(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


def _describe(status: Status | None) -> str:
    return "(none)" if status is None else status.status


def _arrow(t: Transition) -> str:
    if t.change is Change.APPEARED:
        return f"new, {_describe(t.new)}"
    if t.change is Change.DISAPPEARED:
        return f"{_describe(t.old)} -> no longer reported"
    return f"{_describe(t.old)} -> {_describe(t.new)}"


def _error_line(status: Status | None, limit: int) -> str | None:
    if status is None or not (status.error_code or status.error_message):
        return None
    parts = [p for p in (status.error_code, _cut(status.error_message, limit)) if p]
    return ": ".join(parts)


def _title(group: Group) -> str:
    return f'{group.kind.label} "{group.name}" in {group.region}'


def _deployed_by(group: Group, context: Context) -> list[str]:
    if not group.admin_account:
        return []
    return [
        f"Deployed by {context.deployer(group.admin_account)}: only that account sees it; the "
        "commands below work there."
    ]


def _text(group: Group, members: Sequence[Transition], context: Context, limit: int) -> str:
    failed, moved = _counts(members)
    lines = [f"{_ICON[group.severity]}: {_title(group)}", *_deployed_by(group, context), ""]
    if group.parent is not None:
        lines.append(f"Organization-level status: {_arrow(group.parent)}")
        if error := _error_line(group.parent.new or group.parent.old, TEXT_ERROR_CHARS):
            lines.append(f"  {error}")
    elif group.current is not None:
        lines.append(f"Status now: {group.current.status}")
    if members:
        lines += ["", f"{moved} member account{'s' * (moved != 1)} changed, {failed} failing:"]
        for t in members[:limit]:
            lines.append(
                f"  {t.severity.value.upper():9} {context.account(t.entity.account_id)}  "
                f"{_arrow(t)}"
            )
            if error := _error_line(t.new or t.old, TEXT_ERROR_CHARS):
                lines.append(f"            {error}")
        if len(members) > limit:
            lines.append(
                f"  ... and {len(members) - limit} more accounts "
                "(the JSON document on the topic and the command below list them all)"
            )
    if group.stuck:
        lines += ["", "In progress for too long (reported once; again only when it moves):"]
        lines += [f"  {line}" for line in _stuck_lines(group.stuck, context, limit)]
    if not group.detail_read:
        lines += ["", "Member accounts could not be read this run; the next run reads them again."]
    lines += ["", "What to look at next:"]
    lines += [f"  - {step}" for step in next_steps(group)]
    lines += [
        "",
        f"Sent by config-deployment-notifier at {context.sent_at} (run {context.run_id}).",
    ]
    return "\n".join(lines)


def _stuck_lines(stuck: Sequence[Stuck], context: Context, limit: int) -> list[str]:
    """Each stall in a line: which, in what state, since when; the organization's member summary."""
    lines: list[str] = []
    members = [s for s in stuck if s.entity.account_id]
    for s in stuck:
        if s.entity.account_id:
            continue
        lines.append(
            f"{s.entity.kind.label} status {s.status.status} since {s.since} "
            f"({_for(s.since, context)})"
        )
        if s.members_finished:
            lines.append(
                "Every member account has finished; the organization-level status lags behind "
                "(per-account detail is the truth)."
            )
        if s.member_statuses:
            lines.append("Member accounts: " + _summary(s.member_statuses))
    for s in members[: max(limit, 1)]:
        lines.append(
            f"STUCK     {context.account(s.entity.account_id)}  {s.status.status} since {s.since} "
            f"({_for(s.since, context)})"
        )
    if len(members) > max(limit, 1):
        lines.append(f"... and {len(members) - max(limit, 1)} more accounts")
    return lines


def _summary(member_statuses: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{n} {status}" for status, n in member_statuses)


def _minutes(since: str, context: Context) -> int:
    elapsed = datetime.fromisoformat(context.sent_at) - datetime.fromisoformat(since)
    return max(int(elapsed.total_seconds() // 60), 0)


def _for(since: str, context: Context) -> str:
    hours, minutes = divmod(_minutes(since, context), 60)
    return f"for {hours} h {minutes} min" if hours else f"for {minutes} min"


def next_steps(group: Group) -> list[str]:
    """Commands and links that show the detail behind a message."""
    region, name = group.region, group.name
    steps: list[str] = []
    removed = group.parent is not None and group.parent.change is Change.DISAPPEARED
    if removed and group.kind is Kind.ORG_PACK:
        # Its detail is gone with it: the list shows what is still deployed.
        steps.append(
            f"aws configservice describe-organization-conformance-pack-statuses --region {region}"
        )
    elif removed and group.kind is Kind.ORG_RULE:
        steps.append(
            f"aws configservice describe-organization-config-rule-statuses --region {region}"
        )
    elif group.kind is Kind.ORG_PACK:
        steps.append(
            "aws configservice get-organization-conformance-pack-detailed-status "
            f"--region {region} --organization-conformance-pack-name {name}"
            + (" --filters Status=<STATUS>" if group.severity is Severity.FAILURE else "")
        )
    elif group.kind is Kind.ORG_RULE:
        steps.append(
            f"aws configservice get-organization-config-rule-detailed-status --region {region} "
            f"--organization-config-rule-name {name}"
            + (
                " --filters MemberAccountRuleStatus=<STATUS>"
                if group.severity is Severity.FAILURE
                else ""
            )
        )
    else:
        steps.append(
            f"aws configservice describe-conformance-pack-status --region {region} "
            f"--conformance-pack-names {name}"
        )
    steps.append(f"AWS Config console: {console_url(region, group.kind, name)}")
    return steps


def console_url(region: str, kind: Kind, name: str) -> str:
    """The AWS Config console page of a rule or pack in `region`.

    A conformance pack of this account has its own details page. An organization rule or pack has
    none in the management account (each member account holds a copy named
    `OrgConfigRule-<name>-<suffix>` or `OrgConformsPack-<name>-<suffix>`), so the link opens the
    region's list of rules or conformance packs, where that copy shows when this account is in
    scope.
    """
    home = f"https://{region}.console.aws.amazon.com/config/home?region={region}"
    if kind is Kind.ACCOUNT_PACK:
        return f"{home}#/conformance-packs/details?conformancePackName={quote(name, safe='')}"
    if kind in (Kind.ORG_RULE, Kind.ORG_RULE_MEMBER):
        return f"{home}#/rules"
    return f"{home}#/conformance-packs"


def _chatbot(
    group: Group, members: Sequence[Transition], context: Context, limit: int
) -> dict[str, Any]:
    failed, moved = _counts(members)
    lines: list[str] = []
    if group.admin_account:
        lines.append(f"*Deployed by:* {context.deployer(group.admin_account)}")
    if group.parent is not None:
        lines.append(f"*Organization status:* {_arrow(group.parent)}")
        if error := _error_line(group.parent.new or group.parent.old, 300):
            lines.append(f"> {error}")
    if members:
        lines.append(f"*{moved} account{'s' * (moved != 1)} changed, {failed} failing:*")
        for t in members[:limit]:
            lines.append(f"• `{context.account(t.entity.account_id)}` {_arrow(t)}")
            if error := _error_line(t.new or t.old, 200):
                lines.append(f"    _{error}_")
        if len(members) > limit:
            lines.append(f"…and {len(members) - limit} more accounts (see the email or the API)")
    if group.stuck:
        lines.append("*In progress for too long:*")
        lines += [f"• {line}" for line in _stuck_lines(group.stuck, context, limit)]
    if not group.detail_read:
        lines.append("_Member accounts could not be read this run; next run retries._")
    description = "\n".join(lines)
    if len(description) > CHAT_DESCRIPTION_CHARS:
        description = description[: CHAT_DESCRIPTION_CHARS - 40] + "\n…(cut; see the email)"
    return {
        "version": "1.0",
        "source": "custom",
        "id": f"{context.run_id}:{_thread(group).replace('/', ':')}",
        "content": {
            "textType": "client-markdown",
            "title": f"{_EMOJI[group.severity]} {_subject(group)}",
            "description": description,
            "nextSteps": next_steps(group),
            "keywords": [group.region, group.severity.value, headline_status(group)]
            + ([group.admin_account] if group.admin_account else []),
        },
        "metadata": {
            "threadId": _thread(group),
            "summary": _subject(group),
            "eventType": f"config-deployment-{group.severity.value}",
            "relatedResources": [group.name],
            "additionalContext": {"run_id": context.run_id},
        },
    }


def _status_doc(status: Status | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {
        "status": status.status,
        "error_code": status.error_code,
        "error_message": _cut(status.error_message, JSON_ERROR_CHARS),
        "updated_at": status.updated_at,
    }


def transition_doc(t: Transition, context: Context) -> dict[str, Any]:
    """One transition in the machine-readable document."""
    return {
        "kind": t.entity.kind.value,
        "name": t.entity.name,
        "account_id": t.entity.account_id or None,
        "account_name": context.account_names.get(t.entity.account_id),
        "change": t.change.value,
        "severity": t.severity.value,
        "old": _status_doc(t.old),
        "new": _status_doc(t.new),
    }


def _document(
    group: Group, members: Sequence[Transition], context: Context, limit: int
) -> dict[str, Any]:
    listed = ([group.parent] if group.parent else []) + list(members[:limit])
    return {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "run_id": context.run_id,
        "sent_at": context.sent_at,
        "region": group.region,
        "kind": group.kind.value,
        "name": group.name,
        # null: deployed by the account the notifier runs in.
        "admin_account": group.admin_account or None,
        "admin_account_name": context.account_names.get(group.admin_account),
        "console_url": console_url(group.region, group.kind, group.name),
        "severity": group.severity.value,
        "status": _status_doc(group.current),
        "member_detail_read": group.detail_read,
        "transitions": [transition_doc(t, context) for t in listed],
        "omitted_transitions": max(len(members) - limit, 0),
        "stuck": [_stuck_doc(s, context) for s in group.stuck[: max(limit, 1)]],
        "omitted_stuck": max(len(group.stuck) - max(limit, 1), 0),
    }


def _stuck_doc(s: Stuck, context: Context) -> dict[str, Any]:
    return {
        "kind": s.entity.kind.value,
        "name": s.entity.name,
        "account_id": s.entity.account_id or None,
        "account_name": context.account_names.get(s.entity.account_id),
        "status": _status_doc(s.status),
        "since": s.since,
        "minutes": _minutes(s.since, context),
        "members_finished": s.members_finished if not s.entity.account_id else None,
        "member_statuses": dict(s.member_statuses) if not s.entity.account_id else None,
    }


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
    failing = [o for kind in watched for o in watched[kind] if o.status.is_failed]
    counts = {kind: len(observations) for kind, observations in watched.items()}
    parts = [_count(n, _SUBJECT_NOUN[kind]) for kind, n in counts.items()]
    whose = f"{admin_account} deployments" if admin_account else "Config deployments"
    subject = _ascii(
        f"[WATCHING] {whose} in {region}: {len(failing)} failing, " + ", ".join(parts)
    )[:MAX_SUBJECT]
    of = f" of {context.deployer(admin_account)}" if admin_account else ""
    lines = [f"Now watching AWS Config deployments{of} in {region}.", ""]
    for kind, observations in watched.items():
        n_failing = sum(1 for o in observations if o.status.is_failed)
        lines.append(f"  {_PLURAL[kind] + ':':36} {len(observations):5} ({n_failing} failing)")
    failing_lines = []
    for o in failing[:SUMMARY_FAILING_LISTED]:
        accounts = failing_members.get(o.entity)
        detail = f", {accounts} member accounts failing" if accounts else ""
        error = f" ({o.status.error_code})" if o.status.error_code else ""
        failing_lines.append(
            f'{o.entity.kind.label} "{o.entity.name}": {o.status.status}{error}{detail}'
        )
    if len(failing) > SUMMARY_FAILING_LISTED:
        failing_lines.append(f"... and {len(failing) - SUMMARY_FAILING_LISTED} more")
    if failing_lines:
        lines += ["", "Failing right now:"] + [f"  - {line}" for line in failing_lines]
    if unread:
        lines += ["", "Could not be read this run (watched as soon as they can be read):"]
        lines += [f"  - {f.source}: {_cut(f.reason, TEXT_ERROR_CHARS)}" for f in unread[:10]]
    lines += [
        "",
        "This first run records what exists without a message for each item. From now on, every "
        "change of a deployment status in this region is reported.",
        "",
        f"Sent by config-deployment-notifier at {context.sent_at} (run {context.run_id}).",
    ]
    text = "\n".join(lines)
    severity = Severity.FAILURE if failing else Severity.PROGRESS
    chatbot = {
        "version": "1.0",
        "source": "custom",
        "id": f"{context.run_id}:{admin_account + ':' if admin_account else ''}{region}:baseline",
        "content": {
            "textType": "client-markdown",
            "title": f":eyes: {subject}",
            "description": "\n".join(
                [f"*{_PLURAL[k]}:* {n}" for k, n in counts.items()]
                + [f"• {line}" for line in failing_lines[:CHAT_ACCOUNTS]]
            ),
            "keywords": [region, "baseline"] + ([admin_account] if admin_account else []),
        },
        "metadata": {
            "threadId": f"{admin_account + '/' if admin_account else ''}{region}/baseline",
            "summary": subject,
            "eventType": "config-deployment-baseline",
        },
    }
    document = {
        "schema": SUMMARY_SCHEMA,
        "version": SCHEMA_VERSION,
        "run_id": context.run_id,
        "sent_at": context.sent_at,
        "region": region,
        "admin_account": admin_account or None,
        "admin_account_name": context.account_names.get(admin_account),
        "watched": {kind.value: n for kind, n in counts.items()},
        "failing": [
            {
                "kind": o.entity.kind.value,
                "name": o.entity.name,
                "status": _status_doc(o.status),
                "failing_members": failing_members.get(o.entity),
            }
            for o in failing[:JSON_TRANSITIONS]
        ],
        "unread_sources": [{"source": f.source, "reason": f.reason} for f in unread],
    }
    bodies = {"default": text, "email": text, "https": json.dumps(chatbot)}
    bodies["sqs"] = bodies["lambda"] = json.dumps(document)
    return Message(
        subject=subject,
        bodies=bodies,
        attributes={
            "event_type": "baseline-summary",
            "severity": severity.value,
            "kind": "summary",
            "region": region,
            "status": "WATCHING",
            "name": region,
            **({"deployed_by": admin_account} if admin_account else {}),
        },
        group_key=f"{admin_account + '/' if admin_account else ''}{region}/baseline",
    )


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
