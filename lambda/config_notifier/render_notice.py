"""Rendering a notice: one message for one cause, whatever number of regions and deployments it
touches (docs/design.md rule 9). Pure: no I/O.

A notice of one group is rendered as that group's message (render.py). A larger one lists its
failures, stalls and recoveries by name, worst first, with account names, and rolls progress up
into counts; every list is cut with "and N more" to fit SNS (docs/design.md rule 6).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from config_notifier.grouping import Cause, Notice
from config_notifier.model import Change, Group, Message, Severity, Stuck, Transition
from config_notifier.render import render, stuck_doc, transition_doc
from config_notifier.wording import (
    CHAT_ARROW,
    CHAT_DESCRIPTION_CHARS,
    EMOJI,
    ICON,
    SHORT,
    TEXT_ERROR_CHARS,
    Context,
    Limits,
    arrow,
    chat_escape,
    chat_lines,
    count,
    deployment_doc,
    error_line,
    fit_subject,
    fitted,
    for_how_long,
    headline_status,
    next_steps,
    status_doc,
    thread,
    transition_label,
)

NOTICE_SCHEMA = "config-deployment-notifier.notice"
NOTICE_SCHEMA_VERSION = 1


def render_notice(notice: Notice[Any], context: Context) -> Message:
    """The one message about `notice`, cut down until it fits SNS's size limit."""
    if len(notice.groups) == 1:
        return render(notice.groups[0], context)
    return fitted(lambda limits: _render(notice, context, limits))


@dataclass(frozen=True, slots=True)
class _Item:
    """One line of a notice: a transition or a stall, with the group it belongs to."""

    group: Group
    transition: Transition | None = None
    stuck: Stuck | None = None

    @property
    def severity(self) -> Severity:
        return self.transition.severity if self.transition else Severity.STUCK

    @property
    def account_id(self) -> str:
        if self.transition is not None:
            return self.transition.entity.account_id
        return self.stuck.entity.account_id if self.stuck is not None else ""


def _items(notice: Notice[Any]) -> list[_Item]:
    """Every transition and stall, worst first, then by deployment, region and account."""
    items = [_Item(g, transition=t) for g in notice.groups for t in g.transitions]
    items += [_Item(g, stuck=s) for g in notice.groups for s in g.stuck]
    return sorted(
        items,
        key=lambda i: (i.severity.rank, i.group.name, i.group.region, i.account_id),
    )


def _render(notice: Notice[Any], context: Context, limits: Limits) -> Message:
    items = _items(notice)
    listed = [i for i in items if i.severity is not Severity.PROGRESS]
    progress = [i for i in items if i.severity is Severity.PROGRESS]
    return Message(
        subject=fit_subject(*_headline_parts(notice, items, context)),
        bodies=_bodies(notice, listed, progress, context, limits),
        attributes=_attributes(notice, items),
        group_key=_key(notice),
    )


def _bodies(
    notice: Notice[Any],
    listed: Sequence[_Item],
    progress: Sequence[_Item],
    context: Context,
    limits: Limits,
) -> dict[str, str]:
    text = _text(notice, listed, progress, context, limits.text)
    document = json.dumps(_document(notice, context, limits.json))
    chat = json.dumps(_chatbot(notice, listed, progress, context, limits.chat))
    return {"default": text, "email": text, "https": chat, "sqs": document, "lambda": document}


def _headline_parts(
    notice: Notice[Any], items: Sequence[_Item], context: Context
) -> tuple[str, str, str, str]:
    """`[FAILED] ops-baseline (org pack) in 2 regions: 3 accounts failing`, or for accounts
    `[DEPLOYING] prod (111111111111) in 12 deployments, 2 regions`."""
    failing = {(i.group.region, i.account_id) for i in items if i.severity is Severity.FAILURE}
    stuck = [i for i in items if i.severity is Severity.STUCK]
    regions = count(len(notice.regions), "region")
    if notice.cause is Cause.ACCOUNTS and not notice.accounts:
        # A route's part of it: only the moves of the rules and packs themselves.
        name, where = count(len(notice.deployments), "deployment"), f" in {regions}"
        failed = {(i.group.region, i.group.name) for i in items if i.severity is Severity.FAILURE}
        tail = f": {len(failed)} failing" if failed else ""
    elif notice.cause is Cause.ACCOUNTS:
        accounts = notice.accounts
        name = (
            context.account(accounts[0]) if len(accounts) == 1 else count(len(accounts), "account")
        )
        where = f" in {count(len(notice.deployments), 'deployment')}, {regions}"
        tail = f": {len(failing)} failing" if failing else ""
    else:
        kind, name, admin = notice.deployments[0]
        what = SHORT.get(kind, kind.value) + (f", delegated admin {admin}" if admin else "")
        where = f" ({what}) in {regions}"
        members = {i.account_id for i in items if i.account_id}
        if failing:
            tail = f": {count(len({a for _, a in failing if a}), 'account')} failing"
            tail = tail if any(a for _, a in failing) else ": failed"
        elif stuck:
            tail = f": {count(len(stuck), 'item')} stuck"
        else:
            tail = f": {count(len(members), 'account')} changed" if members else ""
    return f"[{_label(notice, items)}] ", name, where, tail


def _label(notice: Notice[Any], items: Sequence[_Item]) -> str:
    severity = notice.severity
    if severity is not Severity.PROGRESS:
        return ICON[severity]
    words = {transition_label(i.transition) for i in items if i.transition}
    parents = [g.parent for g in notice.groups if g.parent is not None]
    if parents and all(p.change is Change.APPEARED for p in parents):
        return "NEW"
    return words.pop() if len(words) == 1 else "CHANGED"


def _headline(notice: Notice[Any], items: Sequence[_Item], context: Context) -> str:
    return "".join(_headline_parts(notice, items, context))


def _where(item: _Item, cause: Cause, context: Context) -> str:
    """Where the item is: `eu-west-1 payments-prod (111122223333)` in a deployment's notice,
    `payments-prod (111122223333) required-tags (org rule) eu-west-1` in an accounts' one; the
    organization level when the item is the rule's or pack's own status."""
    group = item.group
    account = context.account(item.account_id) if item.account_id else "organization level"
    if cause is Cause.DEPLOYMENT:
        return f"{group.region} {account}"
    what = SHORT.get(group.kind, group.kind.value)
    admin = f", {context.deployer(group.admin_account)}" if group.admin_account else ""
    return f"{account} {group.name} ({what}{admin}) {group.region}"


def _line(item: _Item, context: Context, to: str = "->") -> tuple[str, str | None]:
    """What happened to the item, and its error line if it has one."""
    if item.transition is not None:
        t = item.transition
        return arrow(t, to), error_line(t.new or t.old, TEXT_ERROR_CHARS)
    s = item.stuck
    assert s is not None  # noqa: S101 (an item is a transition or a stall)
    return f"{s.status.status} since {s.since} ({for_how_long(s.since, context)})", None


def _word(item: _Item) -> str:
    return transition_label(item.transition) if item.transition else "STUCK"


def _progress_counts(progress: Sequence[_Item]) -> str:
    """`22 DEPLOYING, 2 DEPLOYED`: progress rolled up by what happened."""
    words = Counter(_word(i) for i in progress)
    return ", ".join(f"{n} {word}" for word, n in sorted(words.items(), key=lambda w: -w[1]))


def _text(
    notice: Notice[Any],
    listed: Sequence[_Item],
    progress: Sequence[_Item],
    context: Context,
    limit: int,
) -> str:
    lines = [_headline(notice, [*listed, *progress], context), ""]
    lines += _scope_lines(notice, context)
    if listed:
        lines += ["", "Failing, stuck and recovered, worst first:"]
        for item in listed[:limit]:
            what, error = _line(item, context)
            lines.append(f"  {_word(item):9} {_where(item, notice.cause, context)}  {what}")
            if error:
                lines.append(f"            {error}")
        if len(listed) > limit:
            lines.append(
                f"  ... and {len(listed) - limit} more "
                "(the JSON document on the topic lists them all)"
            )
    if progress:
        lines += ["", f"Progress: {_progress_counts(progress)}."]
    if any(not g.detail_read for g in notice.groups):
        lines += ["", "Member accounts could not be read this run; the next run reads them again."]
    lines += ["", "What to look at next:"]
    lines += [f"  - {step}" for step in _next_steps(notice, listed)]
    lines += [
        "",
        f"Sent by config-deployment-notifier at {context.sent_at} (run {context.run_id}).",
    ]
    return "\n".join(lines)


def _scope_lines(notice: Notice[Any], context: Context) -> list[str]:
    """What the notice covers: its regions, and for accounts, which accounts and deployments."""
    lines = [f"Regions: {', '.join(notice.regions)}"]
    if notice.cause is Cause.ACCOUNTS:
        lines.append("Accounts: " + ", ".join(context.account(a) for a in notice.accounts))
        names = [f"{name} ({SHORT.get(kind, kind.value)})" for kind, name, _ in notice.deployments]
        shown = ", ".join(names[:20])
        more = f" and {len(names) - 20} more" if len(names) > 20 else ""
        lines.append(f"Deployments ({len(names)}): {shown}{more}")
    return lines


def _next_steps(notice: Notice[Any], listed: Sequence[_Item]) -> list[str]:
    """The worst item's commands and link (each rule or pack has its own)."""
    worst = listed[0].group if listed else notice.groups[0]
    return next_steps(worst)


def _chatbot(
    notice: Notice[Any],
    listed: Sequence[_Item],
    progress: Sequence[_Item],
    context: Context,
    limit: int,
) -> dict[str, Any]:
    """An AWS Chatbot custom notification, escaped for Slack like render.py's."""
    lines = [f"*{line}*" for line in _scope_lines(notice, context)]
    for item in listed[:limit]:
        what, error = _line(item, context, CHAT_ARROW)
        lines.append(f"• {_word(item)} `{_where(item, notice.cause, context)}` {what}")
        if error:
            lines.append(f"    _{error[:200]}_")
    if len(listed) > limit:
        lines.append(f"…and {len(listed) - limit} more (see the email or the API)")
    if progress:
        lines.append(f"*Progress:* {_progress_counts(progress)}")
    severity = notice.severity
    headline = _headline(notice, [*listed, *progress], context)
    return {
        "version": "1.0",
        "source": "custom",
        "id": f"{context.run_id}:{_key(notice).replace('/', ':')}",
        "content": {
            "textType": "client-markdown",
            "title": f"{EMOJI[severity]} {chat_escape(headline)}",
            "description": chat_lines(lines, CHAT_DESCRIPTION_CHARS, "…(cut; see the email)"),
            "nextSteps": [chat_escape(step) for step in _next_steps(notice, listed)],
            "keywords": [chat_escape(k) for k in [*notice.regions, severity.value]],
        },
        "metadata": {
            "threadId": _key(notice),
            "summary": fit_subject(*_headline_parts(notice, [*listed, *progress], context)),
            "eventType": f"config-deployment-{severity.value}",
            "relatedResources": sorted({name for _, name, _ in notice.deployments}),
            "additionalContext": {"run_id": context.run_id},
        },
    }


def _document(notice: Notice[Any], context: Context, limit: int) -> dict[str, Any]:
    """The notice as data: every group in the JSON document's own shape, lists cut to `limit`
    entries in all."""
    room = limit
    groups: list[dict[str, Any]] = []
    omitted = 0
    for group in sorted(notice.groups, key=lambda g: (g.severity.rank, g.name, g.region)):
        transitions = list(group.transitions)
        shown, room = transitions[: max(room, 0)], room - len(transitions)
        stuck = list(group.stuck[: max(room, 0)])
        room -= len(group.stuck)
        omitted += len(transitions) - len(shown) + len(group.stuck) - len(stuck)
        groups.append(
            deployment_doc(NOTICE_SCHEMA, NOTICE_SCHEMA_VERSION, group, context)
            | {
                "severity": group.severity.value,
                "status": status_doc(group.current),
                "member_detail_read": group.detail_read,
                "transitions": [transition_doc(t, context) for t in shown],
                "stuck": [stuck_doc(s, context) for s in stuck],
            }
        )
    for doc in groups:  # the schema and run are said once, at the top
        for key in ("schema", "version", "run_id", "sent_at"):
            doc.pop(key)
    return {
        "schema": NOTICE_SCHEMA,
        "version": NOTICE_SCHEMA_VERSION,
        "run_id": context.run_id,
        "sent_at": context.sent_at,
        "cause": notice.cause.value,
        "severity": notice.severity.value,
        "regions": list(notice.regions),
        "accounts": [
            {"account_id": a, "account_name": context.account_names.get(a)} for a in notice.accounts
        ],
        "groups": groups,
        "omitted": omitted,
    }


def _attributes(notice: Notice[Any], items: Sequence[_Item]) -> dict[str, str]:
    """Like a group's message attributes; `region`, `kind` and `name` only when the notice has
    one of each, so a filter on them never matches a message about something else too."""
    kinds = {g.kind.value for g in notice.groups}
    statuses = {headline_status(g) for g in notice.groups}
    names = {g.name for g in notice.groups}
    admins = {g.admin_account for g in notice.groups}
    return {
        "event_type": "transition" if any(i.transition for i in items) else "stuck",
        "severity": notice.severity.value,
        "cause": notice.cause.value,
        **({"region": notice.regions[0]} if len(notice.regions) == 1 else {}),
        **({"kind": kinds.pop()} if len(kinds) == 1 else {}),
        **({"name": names.pop()} if len(names) == 1 else {}),
        **({"status": statuses.pop()} if len(statuses) == 1 else {}),
        **({"deployed_by": a} if len(admins) == 1 and (a := admins.pop()) else {}),
    }


def _key(notice: Notice[Any]) -> str:
    """What the message is about, for threads: the deployment, or the accounts."""
    if notice.cause is Cause.ACCOUNTS:
        return "accounts/" + "+".join(notice.accounts)
    first = notice.groups[0]
    return thread(first).replace(f"{first.region}/", "", 1)
