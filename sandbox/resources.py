"""The notifier's own resources, made in moto the way the CDK app makes them in AWS.

Tests, the chaos run and the benchmark each deploy a fresh copy: a snapshot table with the
stack's key schema, and an SQS queue subscribed to the topic to read what subscribers receive.
"""

from __future__ import annotations

from typing import Any


def create_snapshot_table(dynamodb: Any, name: str) -> None:
    """The snapshot table: `pk`/`sk` strings, on demand, as infra/ defines it."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def subscribe_queue(sns: Any, sqs: Any, topic_arn: str, queue_url: str) -> None:
    """Subscribe an SQS queue to the topic, as an `sqs` subscriber of the product would be."""
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
