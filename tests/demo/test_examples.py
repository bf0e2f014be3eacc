"""The message examples in docs/messages.md are what the renderer produces today."""

from __future__ import annotations

from demo.examples import markdown
from infra import REPO_ROOT


def test_the_message_docs_show_every_message_kind_as_rendered() -> None:
    # Given the examples rendered by the notifier's own code
    section = markdown()
    # Then docs/messages.md holds them verbatim (regenerate with `python -m demo.examples`)
    assert section in (REPO_ROOT / "docs" / "messages.md").read_text()
    # And each kind has its email text and its JSON document, and the first and the route's
    # copy their chat cards
    assert section.count("```text") == 11
    assert section.count("```json") == 11 + 2
    assert "### The reminder digest (event_type `reminder`)" in section
    assert "### One account joining many rules and packs (cause `accounts`)" in section
    assert "### A pack failing in two regions (cause `deployment`)" in section
    assert "Its chat card, as AWS Chatbot receives it:" in section
    assert "### A route's copy of the same message (audience `emea`)" in section
    assert "as the route's Slack or Microsoft Teams channel receives it" in section
