"""Account names: "name (123456789012)" in messages, from AWS Organizations, cached in the table.

Listing a large organization costs a page per 20 accounts, so the names are kept in the snapshot
table and listed again only when the copy is older than the refresh interval. Names are a
courtesy: without permission, or on any error, a message shows the account id alone and the run
goes on (the caller logs it and counts it as a metric).

Layout (pk / sk): "ORG#accounts" / "names#<nnnn>", each item holding up to NAMES_PER_ITEM accounts
(10,000 accounts of 50-character names would not fit one 400 KB item) and the listing time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_organizations import OrganizationsClient

PARTITION = "ORG#accounts"
NAMES_PER_ITEM = 2_000
_PREFIX = "names#"


@dataclass(frozen=True, slots=True)
class Names:
    """What a run knows about account names: the names, and why they are missing if they are."""

    names: Mapping[str, str]
    error: str | None = None
    refreshed: bool = False

    def label(self, account_id: str) -> str:
        name = self.names.get(account_id)
        return f"{name} ({account_id})" if name else account_id


class AccountNames:
    """Account names from the table's copy, listed from Organizations when the copy is stale."""

    def __init__(
        self,
        organizations: OrganizationsClient,
        dynamodb: DynamoDBClient,
        table_name: str,
        refresh: timedelta,
    ) -> None:
        self._organizations = organizations
        self._dynamodb = dynamodb
        self._table = table_name
        self._refresh = refresh

    def load(self, now: datetime) -> Names:
        """The names as of `now`; never raises for an AWS error (ids alone are shown instead)."""
        if not self._refresh:
            return Names({})
        try:
            cached, listed_at = self._read_cache()
        except (ClientError, BotoCoreError) as exc:
            cached, listed_at = {}, None
            cache_error: str | None = f"could not read the cached account names: {exc}"
        else:
            cache_error = None
        if listed_at is not None and now - datetime.fromisoformat(listed_at) < self._refresh:
            return Names(cached)
        try:
            names = self._list_accounts()
        except (ClientError, BotoCoreError) as exc:
            # A stale copy is better than none; the next run tries the listing again.
            return Names(cached, error=f"organizations:ListAccounts failed: {exc}")
        try:
            self._write_cache(names, now.isoformat(timespec="seconds"))
        except (ClientError, BotoCoreError) as exc:
            cache_error = f"could not cache the account names: {exc}"
        return Names(names, error=cache_error, refreshed=True)

    def _list_accounts(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for page in self._organizations.get_paginator("list_accounts").paginate():
            for account in page.get("Accounts", []):
                if "Id" in account and account.get("Name"):
                    names[account["Id"]] = account["Name"]
        return names

    def _read_cache(self) -> tuple[dict[str, str], str | None]:
        names: dict[str, str] = {}
        listed_at: set[str] = set()
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": PARTITION}},
            "ConsistentRead": True,
        }
        while True:
            page = self._dynamodb.query(**request)
            for item in page.get("Items", []):
                names.update(json.loads(item["names"]["S"]))
                listed_at.add(item["listed_at"]["S"])
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        # Items from two listings (a crash between writes) are one stale copy: list again.
        return names, listed_at.pop() if len(listed_at) == 1 else None

    def _write_cache(self, names: Mapping[str, str], listed_at: str) -> None:
        ids = sorted(names)
        chunks = [ids[i : i + NAMES_PER_ITEM] for i in range(0, len(ids), NAMES_PER_ITEM)] or [[]]
        for index, chunk in enumerate(chunks):
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": PARTITION},
                    "sk": {"S": f"{_PREFIX}{index:04d}"},
                    "names": {"S": json.dumps({i: names[i] for i in chunk}, ensure_ascii=False)},
                    "listed_at": {"S": listed_at},
                },
            )
        # Chunks left over from a larger organization go.
        index = len(chunks)
        while True:
            gone = self._dynamodb.delete_item(
                TableName=self._table,
                Key={"pk": {"S": PARTITION}, "sk": {"S": f"{_PREFIX}{index:04d}"}},
                ReturnValues="ALL_OLD",
            )
            if "Attributes" not in gone:
                return
            index += 1
