"""Delegated administrators: AWS Config as another account of the organization sees it.

An organization rule or pack deployed by a delegated administrator account is visible only from
that account. The notifier assumes a role there (DELEGATED_ADMIN_ROLE_ARNS) and reads with its
credentials. They are refreshed before they expire: a warm execution environment lives for hours,
longer than an assumed role's session.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import BotoCoreError, ClientError

from config_notifier.errors import AdminUnreachable
from config_notifier.read import utc_session
from config_notifier.settings import role_account

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_sts import STSClient

# The session name shows in the delegated administrator's CloudTrail: who read, and why.
SESSION_NAME = "config-deployment-notifier"
SESSION_SECONDS = 3600  # the default maximum of a role; botocore renews 15 minutes before the end

_HINTS = {
    "AccessDenied": (
        "the role must exist in that account, trust the notifier function's role "
        "(sts:AssumeRole), and the function's role must be allowed to assume it "
        "(the CDK context key delegatedAdmins grants that)"
    ),
    "RegionDisabledException": "activate STS in the function's region (IAM account settings)",
}


class DelegatedAdmin:
    """One delegated administrator account: its Config clients, made on first use, share one set
    of assumed-role credentials that botocore refreshes before they expire."""

    def __init__(
        self,
        role_arn: str,
        sts: STSClient,
        data_loader: Any,
        client_config: Config,
    ) -> None:
        self.role_arn = role_arn
        self._sts = sts  # the function's own STS client (made when a role is first assumed)
        self._loader = data_loader  # the function's botocore loader: models are read once
        self._config = client_config
        self._lock = threading.Lock()  # the run's reader threads ask for clients together
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, ConfigServiceClient] = {}

    @property
    def account(self) -> str:
        return role_account(self.role_arn)

    def check(self) -> None:
        """Assume the role now (or reuse its fresh credentials); raises AdminUnreachable when
        that fails, so that a run can tell the account is unreachable rather than read nothing."""
        credentials = self._boto3_session().get_credentials()
        try:
            # A refresh that fails raises here: before the first assume, or once they expired.
            if credentials is None or credentials.get_frozen_credentials() is None:
                raise AdminUnreachable(f"no credentials for {self.role_arn}")
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "Unknown")
            hint = _HINTS.get(code, "the next run tries again")
            raise AdminUnreachable(
                f"cannot assume {self.role_arn} in delegated administrator account "
                f"{self.account}: {code}: {error.get('Message', '')} ({hint}); its rules and "
                "packs are left as they were until it can be read"
            ) from exc
        except BotoCoreError as exc:
            raise AdminUnreachable(
                f"cannot assume {self.role_arn} in delegated administrator account "
                f"{self.account}: {exc}; its rules and packs are left as they were"
            ) from exc

    def config_client(self, region: str) -> ConfigServiceClient:
        """The Config client of `region`, signing as the assumed role."""
        session = self._boto3_session()
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                client = session.client("config", region_name=region, config=self._config)
                self._clients[region] = client
            return client

    def _boto3_session(self) -> boto3.session.Session:
        with self._lock:
            if self._session is None:
                core = utc_session()
                core.register_component("data_loader", self._loader)
                credentials = DeferredRefreshableCredentials(
                    refresh_using=self._assume, method="assume-role"
                )
                resolver = CredentialResolver([_Fixed(credentials)])
                core.register_component("credential_provider", resolver)
                self._session = boto3.session.Session(botocore_session=core)
            return self._session

    def _assume(self) -> dict[str, str]:
        """Fresh credentials in botocore's refresh format; called again before they expire."""
        answer = self._sts.assume_role(
            RoleArn=self.role_arn,
            RoleSessionName=SESSION_NAME,
            DurationSeconds=SESSION_SECONDS,
        )
        credentials = answer["Credentials"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }


class _Fixed(CredentialProvider):
    """Hands botocore the refreshable credentials above, instead of searching the environment."""

    METHOD = "assume-role"
    CANONICAL_NAME = "delegated-admin"

    def __init__(self, credentials: DeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> DeferredRefreshableCredentials:
        return self._credentials


class _RefreshReportedByTheRun(logging.Filter):
    """botocore logs a stack trace of its own when refreshing credentials fails, then raises. For
    an administrator's role that repeats what the run reports in its own words (the role, the
    error code, what to do, and that the admin's sources are left as they were), so that record
    is dropped. Failures of any other credentials keep botocore's record."""

    def filter(self, record: logging.LogRecord) -> bool:
        failure = record.exc_info[1] if record.exc_info else None
        trace: TracebackType | None = failure.__traceback__ if failure else None
        while trace is not None:
            if trace.tb_frame.f_code is DelegatedAdmin._assume.__code__:
                return False
            trace = trace.tb_next
        return True


logging.getLogger("botocore.credentials").addFilter(_RefreshReportedByTheRun())
