"""Mutes: which transitions are held back, and how a bad mute is reported."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from config_notifier.model import EntityId, Kind, Severity
from config_notifier.mute import Mute, is_muted, parse_mutes, to_json

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
MEMBER = EntityId("eu-west-1", Kind.ORG_PACK_MEMBER, "sandbox-baseline", "123456789012")


@pytest.mark.parametrize(
    ("mute", "muted"),
    [
        (Mute(account="123456789012"), True),
        (Mute(account="210987654321"), False),
        (Mute(name="sandbox-*"), True),
        (Mute(name="Sandbox-*"), False),  # names are case-sensitive
        (Mute(severity=Severity.FAILURE), True),
        (Mute(severity=Severity.PROGRESS), False),
        (Mute(name="sandbox-*", severity=Severity.PROGRESS), False),  # every criterion must match
        (Mute(account="123456789012", until=date(2026, 11, 21)), True),  # through its last day
        (Mute(account="123456789012", until=date(2026, 11, 20)), False),  # expired on its own
    ],
)
def test_a_mute_matches_when_every_criterion_it_sets_matches(mute: Mute, muted: bool) -> None:
    assert is_muted([mute], MEMBER, Severity.FAILURE, NOW) is muted


def test_no_mutes_mute_nothing() -> None:
    assert not is_muted([], MEMBER, Severity.FAILURE, NOW)


def test_mutes_round_trip_through_their_json() -> None:
    mutes = parse_mutes(
        '[{"account": "123456789012", "until": "2026-12-31"}, {"name": "dev-*"},'
        ' {"severity": "progress"}]'
    )
    assert mutes == (
        Mute(account="123456789012", until=date(2026, 12, 31)),
        Mute(name="dev-*"),
        Mute(severity=Severity.PROGRESS),
    )
    assert parse_mutes(to_json(mutes)) == mutes


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("{", "not valid JSON"),
        ('{"name": "x"}', "not a JSON list"),
        ('["x"]', 'mute #1 is "x", not an object'),
        ('[{"until": "2026-12-31"}]', "mute #1 mutes nothing"),
        ('[{"name": "a"}, {"acount": "123456789012"}]', "mute #2 has unknown keys ['acount']"),
        ('[{"account": "12345"}]', "account '12345' is not a 12-digit account id"),
        ('[{"name": "a", "until": "31/12/2026"}]', "is not an ISO date (YYYY-MM-DD)"),
        ('[{"name": ""}]', "name must be a non-empty string"),
    ],
)
def test_a_bad_mute_says_what_is_wrong(raw: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        parse_mutes(raw)
