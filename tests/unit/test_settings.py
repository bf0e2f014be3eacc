"""Settings: parsed once, every problem reported at once, with an example of a valid value."""

from __future__ import annotations

import re

import pytest

from config_notifier.settings import BaselineMode, Settings, SettingsError

VALID = {
    "SNAPSHOT_TABLE_NAME": "notifier-snapshot",
    "TOPIC_ARN_PREFIX": "arn:aws:sns:us-east-1:123456789012:config-deployments-",
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
        "TOPIC_ARN_PREFIX": "not-an-arn",
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
    assert "TOPIC_ARN_PREFIX='not-an-arn' is invalid: not an SNS topic ARN up to" in text
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


def test_reminder_hours_default_to_a_day_and_a_bad_value_is_named_with_an_example() -> None:
    # Given no REMINDER_HOURS, then 0, then a value past 30 days
    assert Settings.from_env(VALID).reminder_hours == 24
    assert Settings.from_env(VALID | {"REMINDER_HOURS": "0"}).reminder_hours == 0
    # Then the bad one is refused, naming the range and a valid example
    with pytest.raises(
        SettingsError,
        match="REMINDER_HOURS='721' is invalid: must be between 0 and 720; for example "
        "REMINDER_HOURS=24",
    ):
        Settings.from_env(VALID | {"REMINDER_HOURS": "721"})


def test_env_names_are_the_fields() -> None:
    assert Settings.env_names() == [
        "SNAPSHOT_TABLE_NAME",
        "TOPIC_ARN_PREFIX",
        "REGIONS",
        "BASELINE_MODE",
        "MAX_CONCURRENCY",
        "MAX_ATTEMPTS",
        "FULL_RECONCILE_HOURS",
        "TIME_BUDGET_SECONDS",
        "STUCK_AFTER_MINUTES",
        "ACCOUNT_NAMES_REFRESH_HOURS",
        "REMINDER_HOURS",
        "MUTES",
        "EVENT_BUS_NAME",
        "DELEGATED_ADMIN_ROLE_ARNS",
        "ROUTES",
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


ADMIN_ROLE = "arn:aws:iam::111122223333:role/config-notifier-read"


def test_delegated_admin_roles_are_read_by_account() -> None:
    # Given two role ARNs, one with a path, with blanks around them
    env = VALID | {
        "DELEGATED_ADMIN_ROLE_ARNS": (
            f" {ADMIN_ROLE} , arn:aws-us-gov:iam::444455556666:role/ops/config-read"
        )
    }
    # When settings are parsed
    settings = Settings.from_env(env)
    # Then each account maps to its role, in the order given
    assert settings.delegated_admins == {
        "111122223333": ADMIN_ROLE,
        "444455556666": "arn:aws-us-gov:iam::444455556666:role/ops/config-read",
    }


def test_no_delegated_admins_by_default() -> None:
    assert Settings.from_env(VALID).delegated_admins == {}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("arn:aws:iam::111122223333:user/alice", "not an IAM role ARN"),
        ("111122223333", "not an IAM role ARN"),
        (f"{ADMIN_ROLE},arn:aws:iam::111122223333:role/other", "more than one for 111122223333"),
        (
            ",".join(f"arn:aws:iam::{n:012d}:role/r" for n in range(1, 7)),
            "at most 5 delegated administrators",
        ),
        (
            "arn:aws:iam::123456789012:role/r",
            "names account 123456789012, the account the notifier runs in",
        ),
    ],
)
def test_bad_delegated_admin_roles_are_refused_with_an_example(value: str, problem: str) -> None:
    # Given a DELEGATED_ADMIN_ROLE_ARNS that does not name delegated administrator roles
    # (VALID's topic is in 123456789012, the account the function runs in)
    # When settings are parsed
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(VALID | {"DELEGATED_ADMIN_ROLE_ARNS": value})
    # Then the error says what is wrong and shows a valid value
    text = str(raised.value)
    assert problem in text
    assert re.search(rf"for example (DELEGATED_ADMIN_ROLE_ARNS=)?{re.escape(ADMIN_ROLE)}", text)


ROUTES = '[{"name": "payments", "match": {"deployments": ["payments-*"]}}]'


def test_routes_are_read_and_each_has_a_chat_topic() -> None:
    # Given a route
    settings = Settings.from_env(VALID | {"ROUTES": ROUTES})
    # Then it is read
    [route] = settings.routes
    assert (route.name, route.deployments) == ("payments", ("payments-*",))
    # And the topics are the stack's, by their names: one per rendering, and the route's chat
    prefix = VALID["TOPIC_ARN_PREFIX"]
    topics = settings.topics
    assert (topics.text, topics.json) == (f"{prefix}text", f"{prefix}json")
    assert topics.chat == {"all": f"{prefix}chat", "payments": f"{prefix}chat-payments"}


def test_a_bad_route_is_named_with_an_example() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            VALID | {"ROUTES": '[{"name": "payments", "match": {"severities": ["loud"]}}]'}
        )
    [problem] = raised.value.problems
    assert problem.startswith("ROUTES=")
    assert "route \"payments\": match.severities: 'loud' is not one of failure" in problem
    assert "for example ROUTES=[{" in problem
