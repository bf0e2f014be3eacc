"""The copies of one message, one per audience it concerns (docs/messages.md, "Routes").

The stack's own subscribers (audience `all`) get the whole notice (or reminder digest); each
route that matches part of it gets a copy of that part alone, rendered on its own, so its subject
and counts are the route's. The copies are one message: SNS took it when it took every copy
(docs/design.md rule 2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from config_notifier.grouping import Notice
from config_notifier.model import Message
from config_notifier.render_notice import render_notice
from config_notifier.routing import Route, restrict
from config_notifier.wording import Context


def copies[T](
    whole: T,
    render: Callable[[T], Message],
    part_for: Callable[[T, Route], T | None],
    routes: Sequence[Route],
) -> tuple[Message, ...]:
    """The message about `whole` for everyone, then each route's copy: the part of it the route
    matches (`part_for`; None: nothing), rendered on its own, with the route as its audience."""
    routed = (
        replace(render(part), audience=route.name)
        for route in routes
        if (part := part_for(whole, route)) is not None
    )
    return (render(whole), *routed)


def copies_of(
    notice: Notice[Any], context: Context, routes: Sequence[Route]
) -> tuple[Message, ...]:
    """The message about `notice` for everyone, then each route's part of it."""
    return copies(notice, lambda part: render_notice(part, context), for_route, routes)


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
