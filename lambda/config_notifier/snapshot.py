"""Steps 2 and 5, load and commit: each entity as it was when its last transition was delivered.

Layout (one item per entity, so no item nears DynamoDB's 400 KB limit whatever the organization's
size):
  pk "R#<region>"                sk "<kind>#<name>"       org rules and packs, account packs
  pk "R#<region>"                sk "#baseline#<source>"  the region's first run is done
  pk "M#<region>#<kind>#<name>"  sk "<account id>"        member accounts of one rule or pack
A run reads the region partition (its size follows the number of rules and packs, not accounts) and
a member partition only when it reads that rule's or pack's member accounts.
Every write is conditional on the revision the run loaded, so an overlapping run cannot overwrite.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from config_notifier.model import EntityId, Kind, Record, Status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# An error message is kept whole up to this size; items stay far below 400 KB.
MAX_STORED_MESSAGE = 16 * 1024
_BASELINE = "#baseline#"


@dataclass(frozen=True, slots=True)
class RegionSnapshot:
    records: dict[EntityId, Record]
    baselined: frozenset[str]  # sources whose first run in this region is done


class SnapshotStore:
    """The DynamoDB snapshot table; takes its boto3 client so tests can hand it one."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def load_region(self, region: str) -> RegionSnapshot:
        """Every top-level record of `region` and which of its sources have a baseline."""
        records: dict[EntityId, Record] = {}
        baselined: set[str] = set()
        for item in self._query(f"R#{region}"):
            sk = item["sk"]["S"]
            if sk.startswith(_BASELINE):
                baselined.add(sk.removeprefix(_BASELINE))
            else:
                record = item_to_record(item)
                records[record.entity] = record
        return RegionSnapshot(records, frozenset(baselined))

    def load_members(self, parent: EntityId) -> dict[EntityId, Record]:
        """The member-account records of one organization rule or pack."""
        records = (item_to_record(item) for item in self._query(_member_pk(parent)))
        return {r.entity: r for r in records}

    def put(self, record: Record, previous: Record | None) -> bool:
        """Write `record` unless someone changed the item since `previous` was loaded."""
        item = record_to_item(record)
        if previous is None:
            condition, values = "attribute_not_exists(pk)", None
        else:
            condition, values = "rev = :rev", {":rev": {"N": str(previous.revision)}}
        return self._conditional(
            self._client.put_item,
            TableName=self._table,
            Item=item,
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": values} if values else {}),
        )

    def delete(self, previous: Record) -> bool:
        """Remove a record unless someone changed it since it was loaded."""
        return self._conditional(
            self._client.delete_item,
            TableName=self._table,
            Key=_key(previous.entity),
            ConditionExpression="rev = :rev",
            ExpressionAttributeValues={":rev": {"N": str(previous.revision)}},
        )

    def mark_baselined(self, region: str, source: str, at: str) -> None:
        """Record that `source` in `region` has had its silent first run."""
        self._client.put_item(
            TableName=self._table,
            Item={"pk": {"S": f"R#{region}"}, "sk": {"S": _BASELINE + source}, "at": {"S": at}},
        )

    def _conditional(self, call: Any, **request: Any) -> bool:
        try:
            call(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _query(self, pk: str) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            # The previous run's commits must be visible, or they would be reported again.
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _member_pk(parent: EntityId) -> str:
    return f"M#{parent.region}#{parent.kind.value}#{parent.name}"


def _key(entity: EntityId) -> dict[str, Any]:
    if entity.kind.is_member:
        parent_kind = Kind.ORG_RULE if entity.kind is Kind.ORG_RULE_MEMBER else Kind.ORG_PACK
        pk = _member_pk(EntityId(entity.region, parent_kind, entity.name))
    else:
        pk = f"R#{entity.region}"
    return {"pk": {"S": pk}, "sk": {"S": entity.sort_key}}


def record_to_item(record: Record) -> dict[str, Any]:
    """A snapshot record as a DynamoDB item; absent optional fields are left out."""
    entity, status = record.entity, record.status
    item: dict[str, Any] = {
        **_key(entity),
        "region": {"S": entity.region},
        "kind": {"S": entity.kind.value},
        "name": {"S": entity.name},
        "status": {"S": status.status},
        "first_seen": {"S": record.first_seen},
        "last_changed": {"S": record.last_changed},
        "rev": {"N": str(record.revision)},
    }
    optional = {
        "account_id": entity.account_id or None,
        "error_code": status.error_code,
        "error_message": status.error_message[:MAX_STORED_MESSAGE]
        if status.error_message
        else None,
        "aws_updated_at": status.updated_at,
        "detail_synced": record.detail_synced,
        "detail_read_at": record.detail_read_at,
    }
    item.update({k: {"S": v} for k, v in optional.items() if v})
    return item


def item_to_record(item: dict[str, Any]) -> Record:
    """The inverse of record_to_item."""

    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if value else None

    entity = EntityId(
        region=item["region"]["S"],
        kind=Kind(item["kind"]["S"]),
        name=item["name"]["S"],
        account_id=text("account_id") or "",
    )
    return Record(
        entity=entity,
        status=Status(
            status=item["status"]["S"],
            error_code=text("error_code"),
            error_message=text("error_message"),
            updated_at=text("aws_updated_at"),
        ),
        first_seen=item["first_seen"]["S"],
        last_changed=item["last_changed"]["S"],
        revision=int(item["rev"]["N"]),
        detail_synced=text("detail_synced"),
        detail_read_at=text("detail_read_at"),
    )
