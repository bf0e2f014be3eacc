"""Named member accounts in moto's AWS Organizations, for the notifier's account names.

moto chooses account ids itself (CreateAccount takes no id), so the sandbox does not try to match
the Config simulator's ids: callers create the accounts here first and hand the ids moto chose to
the simulator as its member accounts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import boto3


def create_named_accounts(names: Iterable[str], client: Any | None = None) -> dict[str, str]:
    """Create an account per name in moto's organization (made if missing); id -> name, in order."""
    organizations = client or boto3.client("organizations", region_name="us-east-1")
    try:
        organizations.describe_organization()
    except organizations.exceptions.AWSOrganizationsNotInUseException:
        organizations.create_organization(FeatureSet="ALL")
    created: dict[str, str] = {}
    for name in names:
        status = organizations.create_account(
            AccountName=name, Email=f"{uuid.uuid4().hex[:12]}@example.com"
        )["CreateAccountStatus"]
        created[status["AccountId"]] = name
    return created
