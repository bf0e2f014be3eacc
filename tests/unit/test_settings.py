"""Settings: parsed once, every problem reported at once, with an example of a valid value."""

from __future__ import annotations

import pytest

from config_notifier.settings import BaselineMode, Settings, SettingsError

VALID = {
    "SNAPSHOT_TABLE_NAME": "notifier-snapshot",
    "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:config-deployments",
    "REGIONS": "us-east-1, eu-west-1",
}


def test_valid_environment_with_defaults() -> None:
    settings = Settings.from_env(VALID)
    assert settings.regions == ("us-east-1", "eu-west-1")
    assert settings.baseline_mode is BaselineMode.SILENT
    assert (settings.max_concurrency, settings.max_attempts, settings.full_reconcile_hours) == (
        8,
        8,
        24,
    )


def test_every_knob_is_read() -> None:
    env = VALID | {
        "BASELINE_MODE": "FAILURES",
        "MAX_CONCURRENCY": "4",
        "MAX_ATTEMPTS": "3",
        "FULL_RECONCILE_HOURS": "12",
        "TIME_BUDGET_SECONDS": "60",
        "STUCK_AFTER_MINUTES": "45",
    }
    settings = Settings.from_env(env)
    assert settings.stuck_after_minutes == 45
    assert settings.baseline_mode is BaselineMode.FAILURES
    assert (settings.max_concurrency, settings.max_attempts) == (4, 3)
    assert (settings.full_reconcile_hours, settings.time_budget_seconds) == (12, 60)


def test_every_problem_is_reported_at_once_with_an_example() -> None:
    # Given an environment with a missing table, a bad ARN, a bad region and a bad number
    env = {
        "TOPIC_ARN": "not-an-arn",
        "REGIONS": "us-east-1,mars-north-9x",
        "MAX_CONCURRENCY": "lots",
        "BASELINE_MODE": "loud",
    }
    # When settings are parsed
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    # Then one error names all of them and shows a valid value for each
    problems = raised.value.problems
    assert len(problems) == 5
    text = str(raised.value)
    assert "SNAPSHOT_TABLE_NAME is missing; for example SNAPSHOT_TABLE_NAME=" in text
    assert "TOPIC_ARN='not-an-arn' is invalid: not an SNS topic ARN" in text
    assert "REGIONS='us-east-1,mars-north-9x' is invalid: not a region name: mars-north-9x" in text
    assert (
        "MAX_CONCURRENCY='lots' is invalid: not a whole number; for example MAX_CONCURRENCY=8"
        in text
    )
    assert "BASELINE_MODE='loud' is invalid: must be one of silent, failures, all" in text


def test_numbers_out_of_range_are_refused() -> None:
    with pytest.raises(
        SettingsError, match="MAX_CONCURRENCY='0' is invalid: must be between 1 and 64"
    ):
        Settings.from_env(VALID | {"MAX_CONCURRENCY": "0"})


def test_env_names_are_the_fields() -> None:
    assert Settings.env_names() == [
        "SNAPSHOT_TABLE_NAME",
        "TOPIC_ARN",
        "REGIONS",
        "BASELINE_MODE",
        "MAX_CONCURRENCY",
        "MAX_ATTEMPTS",
        "FULL_RECONCILE_HOURS",
        "TIME_BUDGET_SECONDS",
        "STUCK_AFTER_MINUTES",
        "ACCOUNT_NAMES_REFRESH_HOURS",
        "MUTES",
        "EVENT_BUS_NAME",
    ]


def test_mutes_are_read_and_a_bad_one_is_named_with_an_example() -> None:
    # Given a valid list of mutes
    settings = Settings.from_env(
        VALID | {"MUTES": '[{"name": "sandbox-*", "until": "2026-12-31"}]'}
    )
    # Then they are parsed
    [mute] = settings.mutes
    assert (mute.name, mute.until.isoformat() if mute.until else None) == (
        "sandbox-*",
        "2026-12-31",
    )
    # Given a mute with a bad severity
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(VALID | {"MUTES": '[{"severity": "loud"}]'})
    # Then the error names the variable, the mute and the choices, with an example
    [problem] = raised.value.problems
    assert problem.startswith("MUTES=")
    assert "mute #1: severity 'loud' is not one of failure, stuck, recovery, progress" in problem
    assert "for example MUTES=[{" in problem
