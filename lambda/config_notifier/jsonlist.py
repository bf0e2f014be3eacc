"""Settings that are JSON lists (MUTES, ROUTES): as the function's environment holds them, JSON
text, or as cdk.json holds them, already parsed. Pure: no I/O."""

from __future__ import annotations

import json
from typing import Any


def json_list(raw: Any, of: str) -> list[Any]:
    """The list in `raw` (empty text: none); ValueError says what is wrong with it."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(raw, list):
        raise ValueError(f"not a JSON list of {of}")
    return raw
