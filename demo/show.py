"""How the demo lays out what subscribers received, for a terminal. Pure: strings in, lines out.

Bodies are shown as they were published, never rendered again: a body line longer than the
terminal is folded into segments that join back into exactly that line (`│` starts a line of the
body, `┆` continues it), and what is left out is counted, never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

LINE = "│ "
MORE = "┆ "
EMAIL_LINES = 25  # an email's first screen: the status, the failing accounts, their errors
CHAT_LINES = 14
JSON_ITEMS = 2
MAX_LEAD = 16  # continuation rows of a deeply indented line start no further in
JSON_ROWS = 4  # per JSON line shown; error messages make a transition long


def fold(line: str, width: int, rest_width: int | None = None) -> list[str]:
    """`line` cut into pieces of at most `width` characters (`rest_width` after the first), after
    a space where one is near.

    The pieces join back into `line` exactly: spaces stay at the end of the piece they follow.
    """
    pieces: list[str] = []
    room = max(width, 10)
    while len(line) > room:
        cut = line.rfind(" ", room // 2, room) + 1 or room
        pieces.append(line[:cut])
        line = line[cut:]
        room = max(rest_width or width, 10)
    pieces.append(line)
    return pieces


def _lead(line: str) -> int:
    """How far a line's continuation rows are indented: as far as the line itself, within reason."""
    return min(len(line) - len(line.lstrip(" ")), MAX_LEAD)


def body(lines: Iterable[str], indent: str, width: int, max_rows: int | None = None) -> list[str]:
    """Body lines as the terminal shows them: each folded, `│` before a line, `┆` before the rest.

    A folded line's rows after the first are indented as the line is, so an indented error
    message reads as a block. With `max_rows`, a line that needs more rows shows that many and
    how much of it is left out.
    """
    room = width - len(indent) - len(LINE)
    shown: list[str] = []
    for line in lines:
        lead = _lead(line)
        first, *rest = fold(line, room, room - lead)
        # An empty line shows as the bare marker; nothing else is stripped, so it unfolds exactly.
        shown.append(f"{indent}{LINE}{first}" if first else f"{indent}{LINE.rstrip()}")
        if max_rows is not None and len(rest) > max_rows:  # a cut saves two rows at least
            rest, cut = rest[: max_rows - 2], rest[max_rows - 2 :]
            rest.append(f"… {sum(map(len, cut)):,} more characters")
        shown.extend(f"{indent}{MORE}{' ' * lead}{piece}" for piece in rest)
    return shown


def unfold(shown: Sequence[str], indent: str) -> list[str]:
    """The body lines back from what `body` printed, exactly."""
    lines: list[str] = []
    for text in shown:
        rest = text[len(indent) :]
        if rest[:1] == LINE[0]:
            lines.append(rest[2:])
        elif rest[:1] == MORE[0] and lines:
            lines[-1] += rest[2 + _lead(lines[-1]) :]
    return lines


def heading(text: str, width: int, rule: str = "═") -> str:
    return f"{rule * 3} {text} ".ljust(width, rule)


def email(subject: str, text: str, indent: str, width: int, limit: int = EMAIL_LINES) -> list[str]:
    """The email subscriber's view: its subject, then the first `limit` lines of the body."""
    lines = text.split("\n")
    shown = [f"{indent}EMAIL  Subject: {subject}", *body(lines[:limit], indent + "  ", width)]
    if len(lines) > limit:
        shown.append(f"{indent}  {more(len(lines) - limit, len(lines))}")
    return shown


def more(left_out: int, total: int) -> str:
    return f"… {left_out} more line{'s' * (left_out != 1)} of {total}"


def slack(card: str, indent: str, width: int, limit: int = CHAT_LINES) -> list[str]:
    """The AWS Chatbot custom notification as Slack shows it: title, description, next steps."""
    content: dict[str, Any] = json.loads(card)["content"]
    lines = content.get("description", "").split("\n")
    shown = [f"{indent}SLACK  {content['title']}", *body(lines[:limit], indent + "  ", width)]
    if len(lines) > limit:
        shown.append(f"{indent}  {more(len(lines) - limit, len(lines))}")
    steps = content.get("nextSteps", [])
    if steps:
        shown.append(f"{indent}  Next steps:")
        shown += body([f"- {step}" for step in steps], indent + "  ", width)
    return shown


def slack_line(card: str, indent: str) -> str:
    """The Slack card in one line: its title."""
    return f"{indent}SLACK  {json.loads(card)['content']['title']}"


def teams_line(route: str, card: str, indent: str) -> str:
    """A route's chat card (its Microsoft Teams or Slack channel) in one line: its title."""
    return f"{indent}TEAMS  route {route}: {json.loads(card)['content']['title']}"


def document(raw: str, indent: str, width: int, items: int = JSON_ITEMS) -> list[str]:
    """The JSON document an SQS or Lambda subscriber got: its fields, then its first list items,
    each cut at a few rows."""
    doc: dict[str, Any] = json.loads(raw)
    lists = {k: v for k, v in doc.items() if isinstance(v, list) and v}
    lines = [json.dumps({k: v for k, v in doc.items() if k not in lists})]
    for name, values in lists.items():
        first = values[:items]
        more = f", the first {len(first)}" if len(first) < len(values) else ""
        lines.append(f'"{name}": {len(values)} item{"s" * (len(values) != 1)}{more}:')
        lines += [f"  {json.dumps(item)}" for item in first]
    title = (
        f"{indent}JSON   the sqs/lambda body as the queue received it ({len(raw):,} bytes), parsed"
    )
    return [title, *body(lines, indent + "  ", width, max_rows=JSON_ROWS)]


def document_line(raw: str, indent: str) -> str:
    """The JSON document in one line: what it is about and how much it lists."""
    doc: dict[str, Any] = json.loads(raw)
    counts = ", ".join(f"{len(v)} {k}" for k, v in doc.items() if isinstance(v, list) and v)
    return f"{indent}JSON   {doc.get('schema')} v{doc.get('version')}, {len(raw):,} bytes" + (
        f": {counts}" if counts else ""
    )
