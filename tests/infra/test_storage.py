"""The snapshot table: the key schema snapshot.py uses, durable and kept through stack deletion."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template

from config_notifier.snapshot import SnapshotStore

pytestmark = pytest.mark.slow


def test_table_is_keyed_as_the_snapshot_code_reads_it(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        },
    )


def test_the_code_writes_those_key_attributes() -> None:
    # Given the item the snapshot store writes for a region's baseline marker
    written: dict[str, object] = {}

    class Recorder:
        def put_item(self, **request: object) -> None:
            written.update(request)

    SnapshotStore(Recorder(), "table").mark_baselined("us-east-1", "org-pack", "now")  # type: ignore[arg-type]

    # Then its key attributes are the table's, both strings
    item = written["Item"]
    assert isinstance(item, dict)
    assert item["pk"] == {"S": "R#us-east-1"}
    assert item["sk"] == {"S": "#baseline#org-pack"}


def test_table_is_on_demand_recoverable_and_encrypted(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            # SSE with the AWS managed key aws/dynamodb (no customer-managed key on the table)
            "SSESpecification": {"SSEEnabled": True, "KMSMasterKeyId": Match.absent()},
            "ProvisionedThroughput": Match.absent(),
        },
    )


def test_table_survives_accidents_and_stack_deletion(template: Template) -> None:
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": Match.object_like({"DeletionProtectionEnabled": True}),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_table_has_a_generated_name(template: Template) -> None:
    # A fixed name would make a second stack in the account, or a replacement, collide.
    template.has_resource_properties("AWS::DynamoDB::Table", {"TableName": Match.absent()})
