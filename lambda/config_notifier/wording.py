"""The words every message shares: subjects, status arrows, error lines, links. Pure: no I/O.

render.py and summary.py build message bodies out of these; events.py links to the console.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from config_notifier.model import (
    Change,
    Group,
    Kind,
    Message,
    Severity,
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

CHAT_ARROW = "→"  # "->" would be "-&gt;" in Slack's markup

TEXT_ERROR_CHARS = 1_000

JSON_ERROR_CHARS = 4_000

JSON_TRANSITIONS = 1_000


@dataclass(frozen=True, slots=True)
class Limits:
    """How many items each body lists: the email text, the chat card, the JSON document."""

    text: int
    chat: int
    json: int


# Tried in order until the message fits (docs/design.md rule 6): the JSON document gives way
# first (a machine can ask the API for the rest), the email last.
LIMITS = (
    Limits(TEXT_ACCOUNTS, CHAT_ACCOUNTS, JSON_TRANSITIONS),
    Limits(TEXT_ACCOUNTS, CHAT_ACCOUNTS, 250),
    Limits(TEXT_ACCOUNTS, CHAT_ACCOUNTS, 50),
    Limits(25, CHAT_ACCOUNTS, 25),
    Limits(10, 5, 10),
    Limits(3, 3, 3),
    Limits(0, 0, 0),
)


def fitted(build: Callable[[Limits], Message]) -> Message:
    """The first of `build`'s messages, listing less and less, that fits SNS's size limit."""
    for limits in LIMITS:
        message = build(limits)
        if message.size <= MAX_MESSAGE_BYTES:
            break
    return message


# The word in brackets that starts a subject: what happened, never the severity's own name.
ICON = {
    Severity.FAILURE: "FAILED",
    Severity.STUCK: "STUCK",
    Severity.RECOVERY: "RECOVERED",
}

# What a move to one of the documented statuses did, when it is neither a failure nor a recovery.
# A status the code does not know (rule 5) says only that it changed: UPDATE_ROLLBACK_COMPLETE
# ends in _COMPLETE and is no deployment.
_MOVED_TO = {
    "CREATE_SUCCESSFUL": "DEPLOYED",
    "CREATE_COMPLETE": "DEPLOYED",
    "UPDATE_SUCCESSFUL": "UPDATED",
    "DELETE_SUCCESSFUL": "DELETED",
    "CREATE_IN_PROGRESS": "DEPLOYING",
    "UPDATE_IN_PROGRESS": "UPDATING",
    "DELETE_IN_PROGRESS": "DELETING",
}

EMOJI = {
    Severity.FAILURE: ":red_circle:",
    Severity.STUCK: ":large_orange_circle:",
    Severity.RECOVERY: ":large_green_circle:",
    Severity.PROGRESS: ":large_blue_circle:",
}

SHORT = {
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


def ordered(transitions: Sequence[Transition]) -> list[Transition]:
    """Worst first: failures, then recoveries, then progress; then by account and name."""
    return sorted(
        transitions,
        key=lambda t: (t.severity.rank, t.entity.account_id, t.entity.name),
    )


def thread(group: Group) -> str:
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


def counts(members: Sequence[Transition]) -> tuple[int, int]:
    failed = sum(1 for t in members if t.severity is Severity.FAILURE)
    return failed, len(members)


def label(group: Group) -> str:
    """The subject's word for what happened: FAILED, STUCK, RECOVERED, NEW, REMOVED, or where
    the deployment now is (DEPLOYED, UPDATING, ...), CHANGED for a status the code does not know."""
    if group.severity is not Severity.PROGRESS:
        return ICON[group.severity]
    if group.parent is not None and group.parent.change is Change.APPEARED:
        return "NEW"
    if group.parent is not None and group.parent.change is Change.DISAPPEARED:
        return "REMOVED"
    return _MOVED_TO.get(headline_status(group), "CHANGED")


def transition_label(t: Transition) -> str:
    """One transition's word in a list of accounts, in the subject's vocabulary."""
    if t.severity is not Severity.PROGRESS:
        return ICON[t.severity]
    if t.new is None:
        return "REMOVED"
    return _MOVED_TO.get(t.new.status, "CHANGED")


def subject_line(group: Group) -> str:
    """`[FAILED] ops-baseline (org pack) in eu-west-1: 3 accounts failing`: the name first."""
    return fit_subject(*_headline_parts(group))


def headline(group: Group) -> str:
    """The subject in full, uncut: the first line of the email and the chat card's title."""
    return "".join(_headline_parts(group))


def _headline_parts(group: Group) -> tuple[str, str, str, str]:
    failed, moved = counts(group.members)
    what = SHORT.get(group.kind, group.kind.value)
    tag = label(group)
    tail = ""
    if failed:
        tail = f": {count(failed, 'account')} failing"
    elif moved:
        # "2 accounts deployed" when they all did the same, else "changed"
        words = {transition_label(t).lower() for t in group.members}
        tail = f": {count(moved, 'account')} {words.pop() if len(words) == 1 else 'changed'}"
    elif stuck_members := sum(1 for s in group.stuck if s.entity.account_id):
        tail = f": {count(stuck_members, 'account')} stuck"
    elif group.stuck:
        tail = f": {group.stuck[0].status.status}"
    if group.admin_account:
        what = f"{what}, delegated admin {group.admin_account}"
    return f"[{tag}] ", group.name, f" ({what}) in {group.region}", tail


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def fit_subject(head: str, name: str, where: str, tail: str) -> str:
    """Under SNS's 100 characters: the counts give way first, then the end of the name."""
    # SNS subjects are ASCII, start with a letter, digit or punctuation, and have no line breaks.
    name = ascii_only(name)
    if len(head + name + where + tail) > MAX_SUBJECT:
        tail = ""
    room = MAX_SUBJECT - len(head) - len(where) - len(tail)
    if len(name) > room:
        name = name[: max(room - 3, 1)] + "..."
    return (head + name + where + tail)[:MAX_SUBJECT]


def ascii_only(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]", "?", text)


def chat_escape(text: str) -> str:
    """Text as Slack (and so AWS Chatbot's client-markdown) shows it verbatim: `&`, `<` and `>`
    are its control characters and become entities (docs/messages.md, "The chat card")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chat_lines(lines: Sequence[str], limit: int, note: str) -> str:
    """Escaped lines joined, within `limit` characters: whole lines, then `note` when cut."""
    kept: list[str] = []
    used = len(note) + 1
    for line in map(chat_escape, lines):
        if used + len(line) + 1 > limit:
            if not kept:  # one line longer than the card: cut it, never inside an entity
                kept.append(re.sub(r"&[a-z]*$", "", line[: limit - used - 1]))
            kept.append(note)
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def cut(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


def describe(status: Status | None) -> str:
    return "(none)" if status is None else status.status


def arrow(t: Transition, to: str = "->") -> str:
    """`CREATE_IN_PROGRESS -> CREATE_FAILED`; the chat card's arrow is `→`, which needs no
    escaping in Slack's markup."""
    if t.change is Change.APPEARED and t.entity.kind.is_member:
        # The snapshot keeps only members that are not healthy (docs/design.md rule 7): one
        # that appears among them may be a new account or one that was deployed until now.
        return f"now {describe(t.new)}"
    if t.change is Change.APPEARED:
        return f"new, {describe(t.new)}"
    if t.change is Change.DISAPPEARED:
        return f"{describe(t.old)} {to} no longer reported"
    return f"{describe(t.old)} {to} {describe(t.new)}"


def error_line(status: Status | None, limit: int) -> str | None:
    if status is None or not (status.error_code or status.error_message):
        return None
    parts = [p for p in (status.error_code, cut(status.error_message, limit)) if p]
    return ": ".join(parts)


def own_status(group: Group) -> str:
    """What the group's own status is called: an organization rule's or pack's is the
    organization-level one; this account's pack has only its own."""
    return "Status" if group.kind is Kind.ACCOUNT_PACK else "Organization-level status"


def deployed_by(group: Group, context: Context) -> list[str]:
    if not group.admin_account:
        return []
    return [
        f"Deployed by {context.deployer(group.admin_account)}: only that account sees it; the "
        "commands below work there."
    ]


def stuck_lines(stuck: Sequence[Stuck], context: Context, limit: int) -> list[str]:
    """Each stall in a line: which, in what state, since when; the organization's member summary."""
    lines: list[str] = []
    members = [s for s in stuck if s.entity.account_id]
    for s in stuck:
        if s.entity.account_id:
            continue
        lines.append(
            f"{s.entity.kind.label} status {s.status.status} since {s.since} "
            f"({for_how_long(s.since, context)})"
        )
        if s.members_finished:
            lines.append(
                "Every member account has finished; the organization-level status lags behind "
                "(per-account detail is the truth)."
            )
        if s.member_statuses:
            lines.append("Member accounts: " + member_summary(s.member_statuses))
    for s in members[: max(limit, 1)]:
        lines.append(
            f"STUCK     {context.account(s.entity.account_id)}  {s.status.status} since {s.since} "
            f"({for_how_long(s.since, context)})"
        )
    if len(members) > max(limit, 1):
        lines.append(f"... and {len(members) - max(limit, 1)} more accounts")
    return lines


def member_summary(member_statuses: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{n} {status}" for status, n in member_statuses)


def minutes_since(since: str, context: Context) -> int:
    elapsed = datetime.fromisoformat(context.sent_at) - datetime.fromisoformat(since)
    return max(int(elapsed.total_seconds() // 60), 0)


def for_how_long(since: str, context: Context) -> str:
    hours, minutes = divmod(minutes_since(since, context), 60)
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
        command = (
            "aws configservice get-organization-conformance-pack-detailed-status "
            f"--region {region} --organization-conformance-pack-name {name}"
        )
        steps += _filtered(command, "Status", _statuses_to_show(group))
    elif group.kind is Kind.ORG_RULE:
        command = (
            f"aws configservice get-organization-config-rule-detailed-status --region {region} "
            f"--organization-config-rule-name {name}"
        )
        steps += _filtered(command, "MemberAccountRuleStatus", _statuses_to_show(group))
    else:
        steps.append(
            f"aws configservice describe-conformance-pack-status --region {region} "
            f"--conformance-pack-names {name}"
        )
    steps.append(f"AWS Config console: {console_url(region, group.kind, name)}")
    return steps


def _statuses_to_show(group: Group) -> list[str]:
    """The member statuses a failure or a stall is about, worst first: the failing members'
    (else the organization-level failure's own), or the stuck members'."""
    if group.severity is Severity.FAILURE:
        failing = [t.new.status for t in ordered(group.members) if t.new and t.new.is_failed]
        if not failing and group.current is not None and group.current.is_failed:
            failing = [group.current.status]
        return list(dict.fromkeys(failing))
    if group.severity is Severity.STUCK:
        return list(dict.fromkeys(s.status.status for s in group.stuck if s.entity.account_id))
    return []


def _filtered(command: str, key: str, statuses: Sequence[str]) -> list[str]:
    """The command once per status (the filter takes one), or once unfiltered."""
    if not statuses:
        return [command]
    return [f"{command} --filters {key}={status}" for status in statuses]


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


def status_doc(status: Status | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {
        "status": status.status,
        "error_code": status.error_code,
        "error_message": cut(status.error_message, JSON_ERROR_CHARS),
        "updated_at": status.updated_at,
    }


def deployment_doc(schema: str, version: int, group: Group, context: Context) -> dict[str, Any]:
    """The head every machine-readable document about a deployment starts with: which schema,
    which run, which rule or pack, deployed by whom, and its console page."""
    return {
        "schema": schema,
        "version": version,
        "run_id": context.run_id,
        "sent_at": context.sent_at,
        "region": group.region,
        "kind": group.kind.value,
        "name": group.name,
        # null: deployed by the account the notifier runs in.
        "admin_account": group.admin_account or None,
        "admin_account_name": context.account_names.get(group.admin_account),
        "console_url": console_url(group.region, group.kind, group.name),
    }
