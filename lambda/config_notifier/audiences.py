"""The copies of one message, one per audience it concerns (docs/messages.md, "Routes").

The stack's own subscribers (audience `all`) get the whole notice; each route that matches part
of it gets a copy of that part alone, rendered on its own, so its subject and counts are the
route's. The copies are one message: SNS took it when it took every copy (docs/design.md rule 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from config_notifier.grouping import Notice
from config_notifier.model import Message
from config_notifier.render_notice import render_notice
from config_notifier.routing import Route, restrict
from config_notifier.wording import Context


def copies_of(
    notice: Notice[Any], context: Context, routes: Sequence[Route]
) -> tuple[Message, ...]:
    """The message about `notice` for everyone, then each route's part of it."""
    routed = []
    for route in routes:
        part = for_route(notice, route)
        if part is not None:
            routed.append(replace(render_notice(part, context), audience=route.name))
    return (render_notice(notice, context), *routed)


def for_route(notice: Notice[Any], route: Route) -> Notice[Any] | None:
    """What of `notice` the route matches, each group restricted; None: nothing."""
    parts = tuple(
        (key, part) for key, group in notice.parts if (part := restrict(group, route)) is not None
    )
    if not parts:
        return None
    named = {t.entity.account_id for _, g in parts for t in g.members}
    named |= {s.entity.account_id for _, g in parts for s in g.stuck}
    return replace(notice, parts=parts, accounts=tuple(a for a in notice.accounts if a in named))
