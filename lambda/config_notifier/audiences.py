"""The letter that tells one group to every audience it concerns (docs/messages.md, "Routes").

The stack's own subscribers (audience `all`) get the whole group; each route that matches part of
it gets a copy of that part alone, rendered on its own, so its subject and counts are the route's.
The copies are one letter: SNS took it when it took every copy (docs/design.md rule 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from config_notifier.delivery import Letter
from config_notifier.model import EntityId, Group
from config_notifier.render import render
from config_notifier.routing import Route, restrict
from config_notifier.wording import Context


def letter_for(
    group: Group,
    context: Context,
    routes: Sequence[Route],
    answers_for: frozenset[EntityId] = frozenset(),
) -> Letter:
    """The letter about `group`: the whole of it for everyone, and each route's part of it."""
    routed = tuple(
        replace(render(part, context), audience=route.name)
        for route in routes
        if (part := restrict(group, route)) is not None
    )
    return Letter(render(group, context), group, answers_for, routed)
