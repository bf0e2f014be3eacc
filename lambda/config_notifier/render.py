"""Rendering: one message per group, for every kind of subscriber. Pure: no I/O.

Email and the default body are plain text a person reads at a glance; `https` is an AWS Chatbot
custom notification (how Slack subscribes); `sqs` and `lambda` get a versioned JSON document.
Everything fits SNS's limits (docs/design.md rule 6): long lists are cut with "and N more",
never silently.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from config_notifier.model import EntityId, Group, Message, Stuck, Transition
from config_notifier.wording import (
    CHAT_ARROW,
    CHAT_DESCRIPTION_CHARS,
    EMOJI,
    SCHEMA,
    SCHEMA_VERSION,
    TEXT_ERROR_CHARS,
    Context,
    Limits,
    arrow,
    chat_escape,
    chat_lines,
    counts,
    deployed_by,
    deployment_doc,
    error_line,
    fitted,
    headline,
    headline_status,
    label,
    minutes_since,
    next_steps,
    ordered,
    own_status,
    status_doc,
    stuck_lines,
    subject_line,
    thread,
    transition_label,
)


def render(group: Group, context: Context) -> Message:
    """The message for `group`, cut down until it fits SNS's size limit."""
    return fitted(lambda limits: _render(group, context, limits))


def _render(group: Group, context: Context, limits: Limits) -> Message:
    members = ordered(group.members)
    subject = subject_line(group)
    bodies = {
        "default": _text(group, members, context, limits.text),
        "https": json.dumps(_chatbot(group, members, context, limits.chat)),
        "sqs": json.dumps(_document(group, members, context, limits.json)),
    }
    bodies["email"] = bodies["default"]
    bodies["lambda"] = bodies["sqs"]
    return Message(
        subject=subject,
        bodies=bodies,
        attributes=_attributes(group),
        group_key=thread(group),
    )


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


def _text(group: Group, members: Sequence[Transition], context: Context, limit: int) -> str:
    failed, moved = counts(members)
    lines = [headline(group), *deployed_by(group, context), ""]
    if group.parent is not None:
        lines.append(f"{own_status(group)}: {arrow(group.parent)}")
        if error := error_line(group.parent.new or group.parent.old, TEXT_ERROR_CHARS):
            lines.append(f"  {error}")
    elif group.current is not None:
        lines.append(f"Status now: {group.current.status}")
    if members:
        lines += ["", f"{moved} member account{'s' * (moved != 1)} changed, {failed} failing:"]
        for t in members[:limit]:
            lines.append(
                f"  {transition_label(t):9} {context.account(t.entity.account_id)}  {arrow(t)}"
            )
            if error := error_line(t.new or t.old, TEXT_ERROR_CHARS):
                lines.append(f"            {error}")
        if len(members) > limit:
            lines.append(
                f"  ... and {len(members) - limit} more accounts "
                "(the JSON document on the topic and the command below list them all)"
            )
    if group.stuck:
        lines += ["", "In progress for too long (reported once; again only when it moves):"]
        lines += [f"  {line}" for line in stuck_lines(group.stuck, context, limit)]
    if not group.detail_read:
        lines += ["", "Member accounts could not be read this run; the next run reads them again."]
    lines += ["", "What to look at next:"]
    lines += [f"  - {step}" for step in next_steps(group)]
    lines += [
        "",
        f"Sent by config-deployment-notifier at {context.sent_at} (run {context.run_id}).",
    ]
    return "\n".join(lines)


def _chatbot(
    group: Group, members: Sequence[Transition], context: Context, limit: int
) -> dict[str, Any]:
    """An AWS Chatbot custom notification. Every text in its card is escaped for Slack, raw AWS
    error messages, account and rule names included; the markup it adds (`*`, `_`, backticks)
    uses none of the characters escaping changes."""
    failed, moved = counts(members)
    lines: list[str] = []
    if group.admin_account:
        lines.append(f"*Deployed by:* {context.deployer(group.admin_account)}")
    if group.parent is not None:
        lines.append(f"*{own_status(group)}:* {arrow(group.parent, CHAT_ARROW)}")
        if error := error_line(group.parent.new or group.parent.old, 300):
            lines.append(f"_{error}_")
    if members:
        lines.append(f"*{moved} account{'s' * (moved != 1)} changed, {failed} failing:*")
        for t in members[:limit]:
            lines.append(f"• `{context.account(t.entity.account_id)}` {arrow(t, CHAT_ARROW)}")
            if error := error_line(t.new or t.old, 200):
                lines.append(f"    _{error}_")
        if len(members) > limit:
            lines.append(f"…and {len(members) - limit} more accounts (see the email or the API)")
    if group.stuck:
        lines.append("*In progress for too long:*")
        lines += [f"• {line}" for line in stuck_lines(group.stuck, context, limit)]
    if not group.detail_read:
        lines.append("_Member accounts could not be read this run; next run retries._")
    keywords = [group.region, label(group), headline_status(group)]
    return {
        "version": "1.0",
        "source": "custom",
        "id": f"{context.run_id}:{thread(group).replace('/', ':')}",
        "content": {
            "textType": "client-markdown",
            "title": f"{EMOJI[group.severity]} {chat_escape(headline(group))}",
            "description": chat_lines(lines, CHAT_DESCRIPTION_CHARS, "…(cut; see the email)"),
            "nextSteps": [chat_escape(step) for step in next_steps(group)],
            "keywords": [chat_escape(k) for k in keywords]
            + ([group.admin_account] if group.admin_account else []),
        },
        "metadata": {
            "threadId": thread(group),
            "summary": subject_line(group),
            "eventType": f"config-deployment-{group.severity.value}",
            "relatedResources": [group.name],
            "additionalContext": {"run_id": context.run_id},
        },
    }


def transition_doc(t: Transition, context: Context) -> dict[str, Any]:
    """One transition in the machine-readable document."""
    return _entity_doc(t.entity, context) | {
        "change": t.change.value,
        "severity": t.severity.value,
        "old": status_doc(t.old),
        "new": status_doc(t.new),
    }


def _document(
    group: Group, members: Sequence[Transition], context: Context, limit: int
) -> dict[str, Any]:
    listed = ([group.parent] if group.parent else []) + list(members[:limit])
    return deployment_doc(SCHEMA, SCHEMA_VERSION, group, context) | {
        "severity": group.severity.value,
        "status": status_doc(group.current),
        "member_detail_read": group.detail_read,
        "transitions": [transition_doc(t, context) for t in listed],
        "omitted_transitions": max(len(members) - limit, 0),
        "stuck": [stuck_doc(s, context) for s in group.stuck[: max(limit, 1)]],
        "omitted_stuck": max(len(group.stuck) - max(limit, 1), 0),
    }


def stuck_doc(s: Stuck, context: Context) -> dict[str, Any]:
    return _entity_doc(s.entity, context) | {
        "status": status_doc(s.status),
        "since": s.since,
        "minutes": minutes_since(s.since, context),
        "members_finished": s.members_finished if not s.entity.account_id else None,
        "member_statuses": dict(s.member_statuses) if not s.entity.account_id else None,
    }


def _entity_doc(entity: EntityId, context: Context) -> dict[str, Any]:
    return {
        "kind": entity.kind.value,
        "name": entity.name,
        "account_id": entity.account_id or None,
        "account_name": context.account_names.get(entity.account_id),
    }
