"""Timestamps are read as UTC, whatever the time zone of the machine the notifier runs on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from config_notifier.read import CallCounter, read_org_packs, utc_session, utc_timestamp


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set to one that is never UTC."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14, no daylight saving
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_epoch_seconds_and_iso_strings_become_utc_datetimes() -> None:
    # Given timestamps as JSON (epoch seconds) and XML (ISO 8601 with an offset) protocols send them
    # When they are parsed
    # Then both are the same instant, in UTC
    expected = datetime(2026, 11, 21, 10, 5, tzinfo=UTC)
    assert utc_timestamp(expected.timestamp()) == expected
    assert utc_timestamp(int(expected.timestamp())).tzinfo is UTC
    parsed = utc_timestamp("2026-11-21T12:05:00+02:00")
    assert parsed == expected
    assert parsed.utcoffset() is not None
    assert parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_a_config_client_of_the_utc_session_reports_update_times_in_utc(
    sandbox_env: dict[str, str], config_sim: Any, far_from_utc: None
) -> None:
    # Given a pack in the simulator, on a machine whose local time zone is UTC+14
    config_sim.add_accounts(["222222222222"])
    config_sim.region("us-east-1").put_org_pack("ops-baseline", status="CREATE_SUCCESSFUL")
    session = boto3.session.Session(botocore_session=utc_session())
    client = session.client("config", region_name="us-east-1")
    # When the notifier reads it
    [pack] = read_org_packs(client, "us-east-1", CallCounter())
    # Then its last-update time is stored in UTC, as botocore's default parser would not have it
    assert pack.status.updated_at is not None
    assert pack.status.updated_at.endswith("+00:00")
    default = boto3.session.Session().client("config", region_name="us-east-1")
    [local] = read_org_packs(default, "us-east-1", CallCounter())
    assert local.status.updated_at is not None
    assert local.status.updated_at.endswith("+14:00")
    assert datetime.fromisoformat(local.status.updated_at) == datetime.fromisoformat(
        pack.status.updated_at
    )
