"""What the sandbox's tests share: the five operations described once, a raw-answer recorder,
a validator of raw JSON against botocore's output shapes, call outcomes, and a clock tests can
move."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.exceptions import ClientError

from sandbox import ConfigSimulator

if TYPE_CHECKING:
    from botocore.model import Shape
    from mypy_boto3_config import ConfigServiceClient

MEMBER_BASE = 200_000_000_000


def account(i: int) -> str:
    """The i-th member account id, 12 digits, sorting in index order."""
    return str(MEMBER_BASE + i)


# The five operations, described once ---------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One operation as the tests drive it."""

    name: str  # the wire name, as in the simulator's counters
    method: str  # the boto3 method
    result_key: str
    max_limit: int
    key: str  # the member of each item that orders the listing
    populate: Callable[[ConfigSimulator, str, int], None]  # n items in a region
    fixed: dict[str, Any] = field(default_factory=dict)  # required parameters
    names_param: str | None = None  # Describe* ops that take a list of names
    missing_error: str = ""  # the error for a name that does not exist
    status_filter: str | None = None  # the Filters member naming a status

    def __str__(self) -> str:
        return self.name

    def call(self, client: ConfigServiceClient, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = getattr(client, self.method)(**{**self.fixed, **params})
        return result

    def named(self, names: list[str]) -> dict[str, list[str]]:
        """The parameter naming items, for the operations that take names."""
        assert self.names_param is not None, f"{self.name} takes no names"
        return {self.names_param: names}

    def keys(self, answer: Mapping[str, Any]) -> list[str]:
        return [item[self.key] for item in answer[self.result_key]]


def _rules(sim: ConfigSimulator, region: str, n: int) -> None:
    for i in range(n):
        sim.region(region).put_org_rule(f"rule-{i:05d}")


def _packs(sim: ConfigSimulator, region: str, n: int) -> None:
    for i in range(n):
        sim.region(region).put_org_pack(f"pack-{i:05d}")


def _members(kind: str, name: str) -> Callable[[ConfigSimulator, str, int], None]:
    def populate(sim: ConfigSimulator, region: str, n: int) -> None:
        sim.add_accounts(account(i) for i in range(n))
        put = sim.region(region).put_org_rule if kind == "rule" else sim.region(region).put_org_pack
        put(name, accounts=[account(i) for i in range(n)])

    return populate


def _account_packs(sim: ConfigSimulator, region: str, n: int) -> None:
    for i in range(n):
        sim.region(region).put_account_pack(f"pack-{i:05d}")


DESCRIBE_RULES = Op(
    name="DescribeOrganizationConfigRuleStatuses",
    method="describe_organization_config_rule_statuses",
    result_key="OrganizationConfigRuleStatuses",
    max_limit=100,
    key="OrganizationConfigRuleName",
    populate=_rules,
    names_param="OrganizationConfigRuleNames",
    missing_error="NoSuchOrganizationConfigRuleException",
)
DESCRIBE_PACKS = Op(
    name="DescribeOrganizationConformancePackStatuses",
    method="describe_organization_conformance_pack_statuses",
    result_key="OrganizationConformancePackStatuses",
    max_limit=100,
    key="OrganizationConformancePackName",
    populate=_packs,
    names_param="OrganizationConformancePackNames",
    missing_error="NoSuchOrganizationConformancePackException",
)
RULE_DETAIL = Op(
    name="GetOrganizationConfigRuleDetailedStatus",
    method="get_organization_config_rule_detailed_status",
    result_key="OrganizationConfigRuleDetailedStatus",
    max_limit=100,
    key="AccountId",
    populate=_members("rule", "detail-rule"),
    fixed={"OrganizationConfigRuleName": "detail-rule"},
    missing_error="NoSuchOrganizationConfigRuleException",
    status_filter="MemberAccountRuleStatus",
)
PACK_DETAIL = Op(
    name="GetOrganizationConformancePackDetailedStatus",
    method="get_organization_conformance_pack_detailed_status",
    result_key="OrganizationConformancePackDetailedStatuses",
    max_limit=100,
    key="AccountId",
    populate=_members("pack", "detail-pack"),
    fixed={"OrganizationConformancePackName": "detail-pack"},
    missing_error="NoSuchOrganizationConformancePackException",
    status_filter="Status",
)
ACCOUNT_PACKS = Op(
    name="DescribeConformancePackStatus",
    method="describe_conformance_pack_status",
    result_key="ConformancePackStatusDetails",
    max_limit=20,
    key="ConformancePackName",
    populate=_account_packs,
    names_param="ConformancePackNames",
    missing_error="NoSuchConformancePackException",
)

ALL_OPS = (DESCRIBE_RULES, DESCRIBE_PACKS, RULE_DETAIL, PACK_DETAIL, ACCOUNT_PACKS)
ORGANIZATION_OPS = (DESCRIBE_RULES, DESCRIBE_PACKS, RULE_DETAIL, PACK_DETAIL)
NAMED_OPS = (DESCRIBE_RULES, DESCRIBE_PACKS, ACCOUNT_PACKS)
DETAIL_OPS = (RULE_DETAIL, PACK_DETAIL)


# Raw answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One HTTP answer exactly as it came off the wire, before botocore parsed (and pruned) it."""

    operation: str
    status: int
    headers: Mapping[str, str]
    body: Any


@dataclass
class Wire:
    """Records every raw answer to the clients it is attached to (each retry included)."""

    exchanges: list[Exchange] = field(default_factory=list)

    def attach(self, client: ConfigServiceClient) -> None:
        client.meta.events.register("before-parse.config-service.*", self._record)

    def _record(self, operation_model: Any, response_dict: Mapping[str, Any], **_: Any) -> None:
        self.exchanges.append(
            Exchange(
                operation=operation_model.name,
                status=response_dict["status_code"],
                headers={k.lower(): v for k, v in response_dict["headers"].items()},
                body=json.loads(response_dict["body"]),
            )
        )

    def bodies(self, operation: str) -> list[Any]:
        return [e.body for e in self.exchanges if e.operation == operation]


# Raw JSON against botocore's shapes ---------------------------------------------------------

_MODEL = botocore.session.get_session().get_service_model("config")


def output_problems(operation: str, body: Any, *, strict_enums: bool = True) -> list[str]:
    """Everything in a raw success body that the operation's output shape does not allow."""
    output = _MODEL.operation_model(operation).output_shape
    assert output is not None
    return shape_problems(output, body, "$", strict_enums=strict_enums)


def shape_problems(shape: Shape, value: Any, path: str, *, strict_enums: bool = True) -> list[str]:
    """A small recursive validator: keys, required members, JSON types, lengths, patterns, enums."""
    check = _CHECKS.get(shape.type_name)
    if check is None:
        return [f"{path}: the validator does not know type {shape.type_name}"]
    return check(shape, value, path, strict_enums)


def _structure(shape: Shape, value: Any, path: str, strict_enums: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {type(value).__name__}"]
    members: dict[str, Shape] = shape.members  # type: ignore[attr-defined]
    problems = [f"{path}.{key}: not in {shape.name}" for key in value if key not in members]
    problems += [
        f"{path}.{name}: required by {shape.name}"
        for name in shape.required_members
        if name not in value
    ]
    for key, item in value.items():
        if key in members:
            problems += shape_problems(
                members[key], item, f"{path}.{key}", strict_enums=strict_enums
            )
    return problems


def _list(shape: Shape, value: Any, path: str, strict_enums: bool) -> list[str]:
    if not isinstance(value, list):
        return [f"{path}: expected an array, got {type(value).__name__}"]
    member: Shape = shape.member  # type: ignore[attr-defined]
    problems = _length_problems(shape, len(value), path)
    for index, item in enumerate(value):
        problems += shape_problems(member, item, f"{path}[{index}]", strict_enums=strict_enums)
    return problems


def _string(shape: Shape, value: Any, path: str, strict_enums: bool) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: expected a string, got {type(value).__name__}"]
    problems = _length_problems(shape, len(value), path)
    pattern = shape.metadata.get("pattern")
    if pattern and not re.fullmatch(pattern, value):
        problems.append(f"{path}: {value!r} does not match {pattern}")
    enum = shape.metadata.get("enum")
    if strict_enums and enum and value not in enum:
        problems.append(f"{path}: {value!r} is not one of {enum}")
    return problems


def _timestamp(shape: Shape, value: Any, path: str, strict_enums: bool) -> list[str]:
    # JSON 1.1 sends epoch seconds as a number; bool is not one.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"{path}: expected epoch seconds, got {value!r}"]
    return []


def _integer(shape: Shape, value: Any, path: str, strict_enums: bool) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [f"{path}: expected an integer, got {value!r}"]
    return []


def _boolean(shape: Shape, value: Any, path: str, strict_enums: bool) -> list[str]:
    return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]


_CHECKS: dict[str, Callable[[Shape, Any, str, bool], list[str]]] = {
    "structure": _structure,
    "list": _list,
    "string": _string,
    "timestamp": _timestamp,
    "integer": _integer,
    "long": _integer,
    "boolean": _boolean,
}


def _length_problems(shape: Shape, length: int, path: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and length < low:
        return [f"{path}: length {length} < {low}"]
    if high is not None and length > high:
        return [f"{path}: length {length} > {high}"]
    return []


def error_problems(body: Any) -> list[str]:
    """An error body must be exactly {"__type": str, "message": str}."""
    if not isinstance(body, dict) or set(body) != {"__type", "message"}:
        return [f"error body keys: {sorted(body) if isinstance(body, dict) else body!r}"]
    return [f"{k} is not a string" for k, v in body.items() if not isinstance(v, str)]


# Outcomes ------------------------------------------------------------------------------------


def outcomes(call: Callable[[int], object], times: int = 20) -> list[str]:
    """What each of `times` calls (given its index) came to: "ok", or the error code it raised."""
    results: list[str] = []
    for i in range(times):
        try:
            call(i)
            results.append("ok")
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])
    return results


# Time ---------------------------------------------------------------------------------------


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
