"""The fault proxy in front of moto: SNS and DynamoDB fail by rule, in their own wire formats, and
everything else passes through unchanged."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox import Sandbox
from sandbox.fault_proxy import FaultProxy, ProxyFault
from sandbox.resources import drain, new_subscriber_queue
from tests.sandbox.support import outcomes

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture(scope="module")
def proxy(sandbox: Sandbox) -> Iterator[FaultProxy]:
    """A proxy in front of the session's moto."""
    with FaultProxy(sandbox.moto.url, seed=7) as running:
        yield running


@pytest.fixture
def faults(proxy: FaultProxy) -> Iterator[FaultProxy]:
    proxy.clear_faults()
    yield proxy
    proxy.clear_faults()


def client(service: Any, proxy: FaultProxy, config: Config = NO_RETRY) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=proxy.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


@pytest.fixture
def topic(faults: FaultProxy) -> Iterator[tuple[Any, str, Any, str]]:
    """(sns client, topic ARN, sqs client, URL of a queue subscribed to the topic)."""
    sns, sqs = client("sns", faults), client("sqs", faults)
    suffix = uuid.uuid4().hex[:8]
    arn = sns.create_topic(Name=f"t-{suffix}")["TopicArn"]
    url = new_subscriber_queue(sns, sqs, arn, f"q-{suffix}", {"RawMessageDelivery": "true"})
    yield sns, arn, sqs, url
    sns.delete_topic(TopicArn=arn)
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def table(faults: FaultProxy) -> Iterator[tuple[Any, str]]:
    dynamodb = client("dynamodb", faults)
    name = f"t-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield dynamodb, name
    dynamodb.delete_table(TableName=name)


def received(sqs: Any, url: str) -> list[str]:
    return sorted(drain(sqs, url))


def code(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_without_rules_every_request_passes_through(topic, faults):
    # Given a topic with a subscribed queue, reached through the proxy
    sns, arn, sqs, url = topic
    # When a message is published
    sns.publish(TopicArn=arn, Message="hello")
    # Then the subscriber gets it, and the proxy counted the request without failing it
    assert received(sqs, url) == ["hello"]
    assert faults.requests("sns", "Publish") == 1
    assert faults.injected() == 0


@pytest.mark.parametrize(("error", "status"), [("InternalError", 500), ("Throttled", 429)])
def test_a_publish_fails_with_a_real_sns_error(error, status, topic, faults):
    # Given the next Publish fails
    sns, arn, sqs, url = topic
    faults.add_fault("sns", "Publish", error, count=1)
    # When two messages are published, without retries
    with pytest.raises(ClientError) as raised:
        sns.publish(TopicArn=arn, Message="first")
    sns.publish(TopicArn=arn, Message="second")
    # Then botocore parsed the SNS error, the rule is spent, and only the second went out
    assert code(raised) == (error, status)
    assert faults.faults() == []
    assert received(sqs, url) == ["second"]


def test_botocore_retries_through_a_short_burst_and_publishes_once(topic, faults):
    # Given the next two Publish requests fail, and a client allowed three attempts
    _, arn, sqs, url = topic
    sns = client("sns", faults, Config(retries={"mode": "standard", "total_max_attempts": 3}))
    faults.add_fault("sns", "Publish", "InternalError", count=2)
    # When one message is published
    response = sns.publish(TopicArn=arn, Message="once")
    # Then it succeeds on the third attempt, and the subscriber has it once
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert received(sqs, url) == ["once"]


def test_an_applied_failure_publishes_but_reports_an_error(topic, faults):
    # Given SNS accepts the next Publish but the answer is lost on the way back
    sns, arn, sqs, url = topic
    faults.add_fault("sns", "Publish", "InternalError", count=1, applied=True)
    # When a message is published
    with pytest.raises(ClientError) as raised:
        sns.publish(TopicArn=arn, Message="delivered anyway")
    # Then the client hears a failure while the subscriber has the message
    assert code(raised) == ("InternalError", 500)
    assert received(sqs, url) == ["delivered anyway"]


def test_a_partial_publish_batch_moves_entries_to_failed(topic, faults):
    # Given half the entries of the next PublishBatch fail
    sns, arn, sqs, url = topic
    faults.add_fault("sns", "PublishBatch", "InternalError", count=1, entries=0.5)
    entries = [{"Id": f"m{i}", "Message": f"message {i}"} for i in range(4)]
    # When four messages are published in one batch
    response = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=entries)
    # Then two are reported successful and two failed, with a code, and no entry is both
    ok = {e["Id"] for e in response["Successful"]}
    failed = {e["Id"]: (e["Code"], e["SenderFault"]) for e in response["Failed"]}
    assert len(ok) == len(failed) == 2
    assert ok | set(failed) == {"m0", "m1", "m2", "m3"}
    assert set(failed.values()) == {("InternalError", False)}
    # And the subscriber has exactly the successful ones
    assert received(sqs, url) == sorted(f"message {i[1:]}" for i in ok)


def test_a_whole_publish_batch_can_fail(topic, faults):
    # Given every PublishBatch is throttled
    sns, arn, sqs, url = topic
    faults.add_fault("sns", "PublishBatch", "Throttled")
    entries = [{"Id": "a", "Message": "x"}, {"Id": "b", "Message": "y"}]
    # When a batch is published
    with pytest.raises(ClientError) as raised:
        sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=entries)
    # Then nothing went out
    assert code(raised) == ("Throttled", 429)
    assert received(sqs, url) == []


@pytest.mark.parametrize(
    ("error", "status"),
    [("ProvisionedThroughputExceededException", 400), ("InternalServerError", 500)],
)
def test_a_dynamodb_write_fails_and_nothing_is_written(error, status, table, faults):
    # Given every PutItem fails
    dynamodb, name = table
    faults.add_fault("dynamodb", "PutItem", error)
    # When an item is put
    with pytest.raises(ClientError) as raised:
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    # Then the error is DynamoDB's, and the item is not there
    assert code(raised) == (error, status)
    faults.clear_faults()
    assert "Item" not in dynamodb.get_item(TableName=name, Key={"pk": {"S": "a"}})


def test_a_conflicting_writer_is_a_conditional_check_failure(table, faults):
    # Given an item, and the next DeleteItem answered as if another writer changed it first
    dynamodb, name = table
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "rev": {"N": "1"}})
    faults.add_fault("dynamodb", "DeleteItem", "ConditionalCheckFailedException", count=1)
    # When it is deleted on condition
    # Then botocore raises the modeled exception, and the item is still there
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.delete_item(
            TableName=name,
            Key={"pk": {"S": "a"}},
            ConditionExpression="rev = :r",
            ExpressionAttributeValues={":r": {"N": "1"}},
        )
    assert "Item" in dynamodb.get_item(TableName=name, Key={"pk": {"S": "a"}})


def test_a_conflict_rule_passes_an_unconditional_write_through(table, faults):
    # Given every PutItem answered as if another writer changed the item first
    dynamodb, name = table
    faults.add_fault("dynamodb", "PutItem", "ConditionalCheckFailedException")
    # When an item is put without a condition (DynamoDB never refuses that as a conflict)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    # Then it is written, and a conditional put is still refused
    assert "Item" in dynamodb.get_item(TableName=name, Key={"pk": {"S": "a"}})
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(
            TableName=name, Item={"pk": {"S": "b"}}, ConditionExpression="attribute_not_exists(pk)"
        )


def test_an_applied_write_failure_writes_but_reports_an_error(table, faults):
    # Given the next PutItem happens but its answer is lost
    dynamodb, name = table
    faults.add_fault("dynamodb", "PutItem", "InternalServerError", count=1, applied=True)
    # When an item is put
    with pytest.raises(ClientError):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    # Then it is there all the same
    assert "Item" in dynamodb.get_item(TableName=name, Key={"pk": {"S": "a"}})


def test_a_rate_repeats_the_same_sequence_and_spares_other_operations(table, faults):
    # Given half the PutItem requests fail
    dynamodb, name = table

    def draw() -> list[str]:
        faults.clear_faults()  # the draw starts again from its seed
        faults.add_fault("dynamodb", "PutItem", "InternalServerError", rate=0.5)
        return outcomes(lambda i: dynamodb.put_item(TableName=name, Item={"pk": {"S": str(i)}}))

    # When the same 20 writes are made twice
    first, second = draw(), draw()
    # Then both see the same mix, and reads are never failed
    assert first == second
    assert set(first) == {"ok", "InternalServerError"}
    dynamodb.get_item(TableName=name, Key={"pk": {"S": "0"}})


def test_rules_refuse_impossible_combinations():
    # Given the rule type
    # When a rule mixes services, asks for a partial Publish, or an impossible rate or count
    # Then it is refused at once
    with pytest.raises(ValueError, match="dynamodb error"):
        ProxyFault("sns", "Publish", "InternalServerError")
    with pytest.raises(ValueError, match="PublishBatch"):
        ProxyFault("sns", "Publish", "InternalError", entries=0.5)
    with pytest.raises(ValueError, match="rate"):
        ProxyFault("sns", "Publish", "InternalError", rate=2)
    with pytest.raises(ValueError, match="count"):
        ProxyFault("dynamodb", "PutItem", "InternalServerError", count=0)
    with pytest.raises(ValueError, match="unknown error"):
        ProxyFault("dynamodb", "PutItem", "Boom")


def test_the_sandbox_puts_the_proxy_behind_aws_endpoint_url(monkeypatch):
    # Given a sandbox started with the proxy
    with Sandbox(fault_proxy=True) as sandbox:
        assert sandbox.fault_proxy is not None
        env = sandbox.env()
        # Then AWS_ENDPOINT_URL is the proxy, and moto is behind it
        assert env["AWS_ENDPOINT_URL"] == sandbox.fault_proxy.url != sandbox.moto.url
        # When unmodified boto3 (endpoint from the environment only) publishes through it
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        sns = boto3.session.Session().client("sns", region_name="us-east-1", config=NO_RETRY)
        sandbox.fault_proxy.add_fault("sns", "Publish", "InternalError")
        arn = sns.create_topic(Name="through-the-proxy")["TopicArn"]
        # Then the rule applies to it
        with pytest.raises(ClientError, match="InternalError"):
            sns.publish(TopicArn=arn, Message=json.dumps({}))
        assert sandbox.fault_proxy.injected("sns", "Publish", "InternalError") == 1
    # And stopping the sandbox stops the proxy
    assert sandbox.fault_proxy is None
