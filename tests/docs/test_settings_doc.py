"""docs/settings.md lists every CDK context key the stack accepts, as the README says it does."""

from __future__ import annotations

import re

from infra import REPO_ROOT
from infra.config import KEYS

SETTINGS = REPO_ROOT / "docs" / "settings.md"
_ROW_KEY = re.compile(r"^\| `([A-Za-z]+)` \|", re.MULTILINE)


def test_every_context_key_has_a_row_in_the_settings_page() -> None:
    # Given the context keys the synth accepts, and the keys the settings page's tables name
    documented = set(_ROW_KEY.findall(SETTINGS.read_text(encoding="utf-8")))
    # Then each accepted key has its row
    missing = sorted(key.name for key in KEYS if key.name not in documented)
    assert missing == [], f"docs/settings.md has no row for {missing}"
