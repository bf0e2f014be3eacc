"""The delegated administrator adapter: lazy, and its assumed-role credentials refresh."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials
from botocore.exceptions import ClientError

from config_notifier.delegated import DelegatedAdmin
from config_notifier.errors import AdminUnreachable

ROLE = "arn:aws:iam::111122223333:role/config-notifier-read"


class FakeSts:
    """Answers AssumeRole with credentials that last `lifetime`, or refuses."""

    def __init__(self, lifetime: timedelta, denied: bool = False) -> None:
        self.lifetime = lifetime
        self.denied = denied
        self.calls: list[dict[str, Any]] = []

    def assume_role(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        if self.denied:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole"
            )
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{len(self.calls)}",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": datetime.now(UTC) + self.lifetime,
            }
        }


def admin(sts: FakeSts) -> DelegatedAdmin:
    loader = botocore.session.get_session().get_component("data_loader")
    return DelegatedAdmin(ROLE, sts, loader, Config())  # type: ignore[arg-type]


def test_nothing_is_assumed_until_a_run_needs_it() -> None:
    # Given a configured administrator
    sts = FakeSts(timedelta(hours=1))
    # When it is only constructed, then no role is assumed
    assert admin(sts).account == "111122223333"
    assert sts.calls == []


def test_fresh_credentials_are_reused_and_expiring_ones_renewed() -> None:
    # Given credentials that last an hour
    sts = FakeSts(timedelta(hours=1))
    reader = admin(sts)
    # When two runs check the account, then the role was assumed once, as the notifier
    reader.check()
    reader.check()
    assert [c["RoleArn"] for c in sts.calls] == [ROLE]
    assert sts.calls[0]["RoleSessionName"] == "config-deployment-notifier"
    # Given credentials that expire within botocore's mandatory refresh window (10 minutes)
    sts.lifetime = timedelta(minutes=5)
    expiring = admin(sts)
    expiring.check()
    calls = len(sts.calls)
    # When a later run checks again, then they are renewed, not used until they fail
    expiring.check()
    assert len(sts.calls) == calls + 1


def test_a_denied_role_is_a_reason_to_act_on_and_is_tried_again() -> None:
    # Given a role that cannot be assumed
    sts = FakeSts(timedelta(hours=1), denied=True)
    reader = admin(sts)
    # When a run checks, then the reason names the role, the code and what to do
    with pytest.raises(AdminUnreachable) as raised:
        reader.check()
    reason = raised.value.reason
    assert ROLE in reason
    assert "AccessDenied" in reason
    assert "trust the notifier" in reason
    # When the role works again, the next check assumes it without an error
    sts.denied = False
    reader.check()
    assert len(sts.calls) == 2


def test_a_denied_role_is_reported_once_without_botocores_stack_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a role that cannot be assumed
    reader = admin(FakeSts(timedelta(hours=1), denied=True))
    # When a run checks the account
    with (
        caplog.at_level(logging.DEBUG, logger="botocore.credentials"),
        pytest.raises(AdminUnreachable) as raised,
    ):
        reader.check()
    # Then the run has its reason, and botocore logged no stack trace of the same failure
    assert "AccessDenied" in raised.value.reason
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


def test_other_credentials_keep_botocores_record(caplog: pytest.LogCaptureFixture) -> None:
    # Given refreshable credentials of botocore's own whose refresh fails
    def refuse() -> dict[str, str]:
        raise RuntimeError("the refresh failed")

    credentials = DeferredRefreshableCredentials(refresh_using=refuse, method="other")
    # When they are used
    with (
        caplog.at_level(logging.WARNING, logger="botocore.credentials"),
        pytest.raises(RuntimeError, match="the refresh failed"),
    ):
        credentials.get_frozen_credentials()
    # Then botocore's record of it is kept
    assert any("Refreshing temporary credentials failed" in r.getMessage() for r in caplog.records)
