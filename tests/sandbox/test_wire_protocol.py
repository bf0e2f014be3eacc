"""The simulator speaks AWS JSON 1.1 as Config does, so unmodified boto3 works against it."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from sandbox import ConfigSimulator
from tests.sandbox.support import (
    ALL_OPS,
    DESCRIBE_PACKS,
    Op,
    Wire,
    error_problems,
    output_problems,
)

JSON_11 = "application/x-amz-json-1.1"
SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/config/aws4_request, "
    "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0123abcd"
)


def raw(
    sim: ConfigSimulator,
    body: bytes,
    *,
    method: str = "POST",
    path: str = "/",
    extra: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One hand-made HTTP request: (status, lower-cased headers, parsed JSON body).

    Only for what boto3 cannot send: broken HTTP and the simulator's own control endpoints.
    """
    endpoint = urlsplit(sim.endpoint_url)
    headers = {
        "Content-Type": JSON_11,
        "X-Amz-Target": "StarlingDoveService.DescribeOrganizationConformancePackStatuses",
        "Authorization": SIGV4,
        **(extra or {}),
    }
    connection = http.client.HTTPConnection(endpoint.hostname or "", endpoint.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            json.loads(data) if data else None,
        )
    finally:
        connection.close()


def test_boto3_reaches_the_simulator_through_the_endpoint_variable(sandbox_env, config_sim):
    # Given a pack, and only the environment variables saying where Config is
    config_sim.region("us-east-1").put_org_pack("ops-baseline")
    # When a client is made the way application code makes it, with no endpoint_url
    client = boto3.client("config", region_name="us-east-1")
    answer = client.describe_organization_conformance_pack_statuses()
    # Then it talked to the simulator
    assert client.meta.endpoint_url == config_sim.endpoint_url
    statuses = answer["OrganizationConformancePackStatuses"]
    assert [s["OrganizationConformancePackName"] for s in statuses] == ["ops-baseline"]
    assert config_sim.calls() == {(DESCRIBE_PACKS.name, "us-east-1"): 1}


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
def test_every_answer_is_json_11_with_a_request_id(op: Op, config, config_sim, wire: Wire):
    # Given one item for the operation
    op.populate(config_sim, "us-east-1", 1)
    # When it is called
    answer = op.call(config)
    # Then the raw answer has Config's content type, a request id botocore picks up, and a body
    # its output shape allows
    [exchange] = wire.exchanges
    assert exchange.status == 200
    assert exchange.headers["content-type"] == JSON_11
    assert answer["ResponseMetadata"]["RequestId"] == exchange.headers["x-amzn-requestid"]
    assert output_problems(op.name, exchange.body) == []


def test_the_region_comes_from_the_credential_scope(make_client, config_sim):
    # Given a pack in eu-west-1 only
    config_sim.region("eu-west-1").put_org_pack("eu-only")
    # When each region's client lists the packs
    eu = make_client("eu-west-1").describe_organization_conformance_pack_statuses()
    us = make_client("us-east-1").describe_organization_conformance_pack_statuses()
    # Then only eu-west-1 sees it, and each call is counted in its own region
    assert [s["OrganizationConformancePackName"] for s in eu[DESCRIBE_PACKS.result_key]] == [
        "eu-only"
    ]
    assert us[DESCRIBE_PACKS.result_key] == []
    assert config_sim.call_count(region="eu-west-1") == 1
    assert config_sim.call_count(region="us-east-1") == 1


def tamper(client: Any, *, target: str | None = None, body: bytes | None = None) -> None:
    """Make the client send what no SDK would: another target (or none), or another body.

    The request still goes out signed and through botocore, which parses the answer.
    """

    def edit(request: Any, **_: Any) -> None:
        if target == "":
            del request.headers["X-Amz-Target"]
        elif target is not None:
            request.headers["X-Amz-Target"] = target
        if body is not None:
            request.data = body

    client.meta.events.register("before-sign.config-service.*", edit)


@pytest.mark.parametrize(
    "target",
    [
        "StarlingDoveService.PutOrganizationConformancePack",
        "StarlingDoveService.",
        "Route53.DescribeOrganizationConformancePackStatuses",
        "",  # no X-Amz-Target at all
    ],
)
def test_an_unknown_operation_is_a_400_unknown_operation_exception(
    config, config_sim, wire: Wire, target
):
    # Given a request whose target is not one of the five operations
    tamper(config, target=target)
    # When it is sent
    with pytest.raises(ClientError) as raised:
        config.describe_organization_conformance_pack_statuses()
    # Then Config's answer for it comes back as a JSON 1.1 error, and the request is counted
    assert raised.value.response["Error"]["Code"] == "UnknownOperationException"
    [exchange] = wire.exchanges
    assert (exchange.status, exchange.headers["content-type"]) == (400, JSON_11)
    assert error_problems(exchange.body) == []
    assert config_sim.call_count() == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"Limit": "ten"}', "'limit'"),
        (b'{"Limit": 1.5}', "'limit'"),
        (b'{"Limit": true}', "'limit'"),
        (b'{"OrganizationConformancePackNames": "ops-baseline"}', "JSON array"),
        (b'{"OrganizationConformancePackNames": [1]}', "JSON string"),
        (b'{"OrganizationConformancePackNames": [null]}', "JSON string"),
    ],
)
def test_a_malformed_body_is_a_serialization_exception(config, wire: Wire, body, detail):
    # Given a body that is not JSON, or holds a value of the wrong JSON type
    tamper(config, body=body)
    # When it is sent
    with pytest.raises(ClientError) as raised:
        config.describe_organization_conformance_pack_statuses()
    # Then it is refused as Config refuses it, never with a 500
    assert raised.value.response["Error"]["Code"] == "SerializationException"
    assert detail in raised.value.response["Error"]["Message"]
    assert [e.status for e in wire.exchanges] == [400]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", 1),  # an empty body is {}
        (b'{"Extra": 1, "Limit": null, "OrganizationConformancePackNames": null}', 1),
    ],
    ids=["empty", "unknown-and-null-members"],
)
def test_unknown_members_nulls_and_an_empty_body_mean_no_parameters(
    config, config_sim, body, expected
):
    # Given one pack
    config_sim.region("us-east-1").put_org_pack("ops-baseline")
    # When the body is empty, or carries a member the model lacks and nulls
    tamper(config, body=body)
    answer = config.describe_organization_conformance_pack_statuses()
    # Then they change nothing, as in AWS's JSON services
    assert len(answer["OrganizationConformancePackStatuses"]) == expected


def test_a_request_without_sigv4_credentials_is_refused(make_client, config_sim):
    # Given an unsigned request: no Authorization header, hence no region and no caller
    client = make_client(signature_version=UNSIGNED)
    # When it is sent
    with pytest.raises(ClientError) as raised:
        client.describe_organization_conformance_pack_statuses()
    # Then it is refused with a 400
    assert raised.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("method", "path", "extra"),
    [
        ("POST", "/", {"Content-Length": "nonsense"}),
        ("POST", "/", {"Content-Length": str(10**9)}),
        ("POST", "/elsewhere", {}),
        ("GET", "/", {}),
        ("DELETE", "/_sim/state", {}),
    ],
)
def test_bad_requests_are_never_a_500(config_sim, method, path, extra):
    # Given a request no client should send
    # When it arrives
    status, _, answer = raw(config_sim, b"{}", method=method, path=path, extra=extra)
    # Then the answer is a client error with a JSON body, not a server error
    assert 400 <= status < 500
    assert isinstance(answer, dict)


def test_errors_map_to_the_modeled_exception_classes(config):
    # Given a modeled error (an unknown pack)
    # When it is raised
    with pytest.raises(config.exceptions.NoSuchOrganizationConformancePackException) as raised:
        config.describe_organization_conformance_pack_statuses(
            OrganizationConformancePackNames=["absent"]
        )
    # Then botocore read the code and the message from the body
    error = raised.value.response["Error"]
    assert error["Code"] == "NoSuchOrganizationConformancePackException"
    assert "absent" in error["Message"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_control_endpoints_load_dump_count_and_inject_faults(config_sim, config):
    # Given a state document put over HTTP
    doc = {"accounts": ["222222222222"], "regions": {"us-east-1": {"organization_packs": [
        {"name": "ops-baseline"}
    ]}}}  # fmt: skip
    status, _, _ = raw(config_sim, json.dumps(doc).encode(), method="PUT", path="/_sim/state")
    assert status == 200
    # When a client reads it
    answer = config.describe_organization_conformance_pack_statuses()
    # Then the state, the counters and the dump all show it
    assert answer[DESCRIBE_PACKS.result_key][0]["OrganizationConformancePackName"] == "ops-baseline"
    _, _, dumped = raw(config_sim, b"", method="GET", path="/_sim/state")
    assert dumped == config_sim.dump_state()
    assert (
        dumped["regions"]["us-east-1"]["organization_packs"][0]["members"][0]["account_id"]
        == "222222222222"
    )
    _, _, calls = raw(config_sim, b"", method="GET", path="/_sim/calls")
    assert calls == [{"operation": DESCRIBE_PACKS.name, "region": "us-east-1", "count": 1}]

    # When a fault list is put over HTTP
    rules = [{"region": "us-east-1", "access_denied": True}]
    status, _, _ = raw(config_sim, json.dumps(rules).encode(), method="PUT", path="/_sim/faults")
    assert status == 200
    # Then calls fail, until the faults are deleted over HTTP
    with pytest.raises(config.exceptions.OrganizationAccessDeniedException):
        config.describe_organization_conformance_pack_statuses()
    _, _, listed = raw(config_sim, b"", method="GET", path="/_sim/faults")
    assert listed[0]["access_denied"] is True
    raw(config_sim, b"", method="DELETE", path="/_sim/faults")
    assert len(config.describe_organization_conformance_pack_statuses()[DESCRIBE_PACKS.result_key])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_sim/state", b"{oops"),
        ("/_sim/state", b'{"regions": {"us-east-1": {"organization_packs": [{"nam": "x"}]}}}'),
        ("/_sim/faults", b'{"region": "us-east-1"}'),
        ("/_sim/faults", b'[{"throttle_rate": 2}]'),
        ("/_sim/faults", b'[{"throttle_rate": "often"}]'),
        ("/_sim/faults", b'[{"regoin": "us-east-1"}]'),
    ],
)
def test_control_endpoints_refuse_bad_documents_and_keep_the_state(config_sim, path, body):
    # Given a state and no faults
    config_sim.region("us-east-1").put_account_pack("kept")
    before = config_sim.dump_state()
    # When a bad document is put
    status, _, answer = raw(config_sim, body, method="PUT", path=path)
    # Then it is a 400 that says why, and nothing changed
    assert status == 400
    assert answer["message"]
    assert config_sim.dump_state() == before
    assert config_sim.fault_rules() == []
