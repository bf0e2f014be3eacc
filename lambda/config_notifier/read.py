"""The Config adapter: the deployment statuses AWS Config reports, one source at a time, all pages.

A source either reads completely or raises SourceUnreadable: a half-read source would make the diff
report entities on the missing pages as deleted.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError
from botocore.utils import parse_timestamp

from config_notifier.errors import SourceUnreadable
from config_notifier.model import EntityId, Kind, Observation, Status

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

# Largest page sizes the APIs accept: fewer calls, less throttling.
ORG_PAGE_LIMIT = 100
ACCOUNT_PACK_PAGE_LIMIT = 20
# A guard against a service that never stops paginating (10,000 accounts are 100 pages).
MAX_PAGES = 2_000

_HINTS = {
    "OrganizationAccessDeniedException": (
        "run the notifier in the organization's management account (or a delegated administrator "
        "for AWS Config) and enable trusted access for config-multiaccountsetup.amazonaws.com"
    ),
    "AccessDeniedException": "the function's role is missing a config:Describe*/Get* permission",
    "ThrottlingException": "throttled past the retry budget; the next run reads it again",
    "InvalidNextTokenException": "pagination restarted mid-read; the next run reads it again",
}


def utc_session() -> botocore.session.Session:
    """A botocore session whose clients read timestamps as UTC datetimes.

    botocore's own parser turns each one into the local time zone through dateutil: more than
    half of the time spent parsing a page of statuses, 600 timestamps in a steady run and two
    million in a full reconcile of 10,000 accounts. AWS sends them in UTC, and UTC is how the
    notifier stores and shows them.
    """
    session = botocore.session.Session()
    factory = session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=utc_timestamp)
    return session


def utc_timestamp(value: str | float) -> datetime:
    """A timestamp as AWS sent it (epoch seconds in JSON, ISO 8601 in XML) as a UTC datetime."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return parse_timestamp(value).astimezone(UTC)


class CallCounter:
    """Counts API calls by operation, from every reader thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, operation: str) -> None:
        with self._lock:
            self._counts[operation] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def read_org_rules(
    client: ConfigServiceClient, region: str, calls: CallCounter, admin: str = ""
) -> list[Observation]:
    """Every organization Config rule's organization-level status in `region`, as deployed by
    the account `client` calls as (`admin`: a delegated administrator's, "" this account's)."""
    return _organization_statuses(client, EntityId(region, Kind.ORG_RULE, "", "", admin), calls)


def read_org_packs(
    client: ConfigServiceClient, region: str, calls: CallCounter, admin: str = ""
) -> list[Observation]:
    """Every organization conformance pack's organization-level status in `region`."""
    return _organization_statuses(client, EntityId(region, Kind.ORG_PACK, "", "", admin), calls)


# Per kind: the Describe*Statuses operation, and its list, name and status fields.
_LISTINGS = {
    Kind.ORG_RULE: (
        "describe_organization_config_rule_statuses",
        ("OrganizationConfigRuleStatuses", "OrganizationConfigRuleName", "OrganizationRuleStatus"),
    ),
    Kind.ORG_PACK: (
        "describe_organization_conformance_pack_statuses",
        ("OrganizationConformancePackStatuses", "OrganizationConformancePackName", "Status"),
    ),
}


def _organization_statuses(
    client: ConfigServiceClient, like: EntityId, calls: CallCounter
) -> list[Observation]:
    """Every page of the listing of `like`'s kind; each entity is `like` with its name."""
    operation, (result_key, name_key, status_key) = _LISTINGS[like.kind]
    call = getattr(client, operation)
    region, kind, admin = like.region, like.kind, like.admin_account
    # Built directly: dataclasses.replace costs twice as much, for every rule and pack of every
    # run (docs/performance.md).
    return [
        Observation(EntityId(region, kind, item[name_key], "", admin), _status(item, status_key))
        for item in _all_items(call, result_key, ORG_PAGE_LIMIT, calls)
    ]


def read_account_packs(
    client: ConfigServiceClient, region: str, calls: CallCounter, admin: str = ""
) -> list[Observation]:
    """The deployment state of this account's own conformance packs in `region`."""
    items = _all_items(
        client.describe_conformance_pack_status,
        "ConformancePackStatusDetails",
        ACCOUNT_PACK_PAGE_LIMIT,
        calls,
    )
    return [
        Observation(
            EntityId(region, Kind.ACCOUNT_PACK, item["ConformancePackName"], "", admin),
            Status(
                status=item.get("ConformancePackState") or "STATUS_NOT_REPORTED",
                error_message=item.get("ConformancePackStatusReason"),
                updated_at=_iso(_last_update(item)),
            ),
        )
        for item in items
    ]


# The member statuses that are not healthy. A run reads a deployment's members through these
# filters only, so its work follows what is unhealthy, not the organization's size
# (docs/design.md rule 7).
UNHEALTHY_STATUSES = tuple(
    f"{operation}_{state}"
    for state in ("FAILED", "IN_PROGRESS")
    for operation in ("CREATE", "UPDATE", "DELETE")
)


def read_members(
    client: ConfigServiceClient,
    parent: EntityId,
    calls: CallCounter,
    *,
    status: str | None = None,
    account: str | None = None,
) -> list[Observation]:
    """The member accounts' statuses of one organization rule or pack: all of them, or only
    those in `status`, or only `account`, through the API's own filters."""
    if parent.kind is Kind.ORG_RULE:
        call: Callable[..., Any] = client.get_organization_config_rule_detailed_status
        result_key, status_key = "OrganizationConfigRuleDetailedStatus", "MemberAccountRuleStatus"
        params: dict[str, Any] = {"OrganizationConfigRuleName": parent.name}
    elif parent.kind is Kind.ORG_PACK:
        call = client.get_organization_conformance_pack_detailed_status
        result_key, status_key = "OrganizationConformancePackDetailedStatuses", "Status"
        params = {"OrganizationConformancePackName": parent.name}
    else:
        raise ValueError(f"{parent.kind} has no member accounts")
    filters = {"AccountId": account} if account else {}
    filters |= {status_key: status} if status else {}
    if filters:
        params["Filters"] = filters
    member_kind = parent.kind.member_kind
    observations = [
        Observation(
            EntityId(
                parent.region, member_kind, parent.name, item["AccountId"], parent.admin_account
            ),
            _status(item, status_key),
        )
        for item in _all_items(call, result_key, ORG_PAGE_LIMIT, calls, **params)
    ]
    # A filter the service ignored must cost calls, never correctness: keep what was asked for.
    return [
        o
        for o in observations
        if status in (None, o.status.status) and account in (None, o.entity.account_id)
    ]


# Beyond this many accounts to check one by one, one read of every member costs no more calls
# (10,000 accounts are 100 pages), so the checks stay bounded whatever the organization's size.
MAX_RECHECKS = 100


def read_unhealthy_members(
    client: ConfigServiceClient,
    parent: EntityId,
    calls: CallCounter,
    *,
    settled: bool,
    recheck: Iterable[str],
) -> list[Observation]:
    """The members of a rule or pack that are not healthy now, and the status now of each
    account in `recheck` (those that were not healthy last time), whatever it is; an account of
    `recheck` that is not a member any more is not among them.

    A `settled` (successful) deployment is deployed in every member account: only the rechecks
    are read. Any other is read through each unhealthy status's filter, a call or more each
    (docs/design.md rule 7).
    """
    found: dict[str, Observation] = {}
    for status in () if settled else UNHEALTHY_STATUSES:
        for observation in read_members(client, parent, calls, status=status):
            found[observation.entity.account_id] = observation
    pending = sorted(set(recheck) - found.keys())
    if len(pending) > MAX_RECHECKS:
        wanted = set(pending)
        found |= {
            o.entity.account_id: o
            for o in read_members(client, parent, calls)
            if o.entity.account_id in wanted
        }
    else:
        for account in pending:
            for observation in read_members(client, parent, calls, account=account):
                found[account] = observation
    return list(found.values())


def _all_items(
    call: Callable[..., Any],
    result_key: str,
    limit: int,
    calls: CallCounter,
    **params: Any,
) -> Iterator[Mapping[str, Any]]:
    operation = call.__name__
    seen_tokens: set[str] = set()
    token: str | None = None
    for _ in range(MAX_PAGES):
        request: dict[str, Any] = {**params, "Limit": limit}
        if token:
            request["NextToken"] = token
        try:
            calls.add(operation)
            response = call(**request)
        except ClientError as exc:
            raise SourceUnreadable(_describe(operation, exc)) from exc
        except BotoCoreError as exc:
            raise SourceUnreadable(f"{operation} failed: {exc}") from exc
        yield from response.get(result_key) or []
        token = response.get("NextToken")
        if not token:
            return
        if token in seen_tokens:
            raise SourceUnreadable(
                f"{operation} returned a NextToken it had already returned: the listing "
                "would never end, so this source is treated as unread"
            )
        seen_tokens.add(token)
    raise SourceUnreadable(f"{operation} returned more than {MAX_PAGES} pages; stopped reading")


def _describe(operation: str, exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    code = error.get("Code", "Unknown")
    message = error.get("Message", "")
    hint = _HINTS.get(code)
    return f"{operation} failed with {code}: {message}" + (f" ({hint})" if hint else "")


def _status(item: Mapping[str, Any], status_key: str) -> Status:
    code = item.get("ErrorCode")
    return Status(
        # A status the API model does not list is passed on as it is (docs/design.md rule 5).
        status=sys.intern(item.get(status_key) or "STATUS_NOT_REPORTED"),
        error_code=sys.intern(code) if code else None,
        error_message=item.get("ErrorMessage") or None,
        updated_at=_iso(item.get("LastUpdateTime")),
    )


def _last_update(item: Mapping[str, Any]) -> datetime | None:
    """An account pack's last update: the later of its last request and its last completion.

    LastUpdateCompletedTime is the last *successful* update, so while a later one is in progress
    (or after it failed) it is older than that state; the request says when the state began
    (docs/design.md, "AWS facts it relies on").
    """
    requested, completed = item.get("LastUpdateRequestedTime"), item.get("LastUpdateCompletedTime")
    times = [t for t in (requested, completed) if t is not None]
    return max(times) if times else None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    # utc_session's times are all UTC; any other offset is formatted as it is, since equal
    # datetimes in two offsets would share one cache entry.
    return _utc_iso(value) if value.tzinfo is UTC else sys.intern(value.isoformat())


@lru_cache(maxsize=4096)
def _utc_iso(value: datetime) -> str:
    # Interned: thousands of member accounts share a handful of statuses and update times, and
    # a 10,000-account pack is held in memory while it is diffed. Cached: a steady run reads the
    # same update times as the run before it, and formatting one costs about ten times the
    # look-up (docs/performance.md); bounded, so a large reconcile's distinct times cannot grow it.
    return sys.intern(value.isoformat())
