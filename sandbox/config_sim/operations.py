"""The five Config operations over the organization: validated parameters in, response out.

Each answer holds only members of the operation's output shape, timestamps as epoch seconds.
Limits, names and pagination behave as the API reference says: names given means one answer with
every named item and no paging; otherwise a stable order (by name, or by account id) cut into
pages whose NextToken carries the last key returned.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

from sandbox.config_sim import errors
from sandbox.config_sim.state import (
    AccountPack,
    Deployment,
    Kind,
    Member,
    Organization,
    RegionData,
)
from sandbox.config_sim.tokens import InvalidTokenError, TokenCodec, TokenScope

ORGANIZATION_PAGE_MAX = 100  # CosmosPageLimit: 0..100, 0 meaning the default, 100
ACCOUNT_PACK_PAGE_MAX = 20  # PageSizeLimit: 0..20, 0 meaning the default, 20


@dataclass(frozen=True)
class Call:
    """Who asks, where and when: what an operation needs besides its parameters."""

    operation: str
    region: str
    access_key_id: str
    account_id: str
    now: datetime


Handler = Callable[[Organization, TokenCodec, Call, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Operation:
    name: str
    #: An organization operation: only the management account may call it.
    organization: bool
    handler: Handler


def _epoch(moment: datetime) -> float:
    # JSON 1.1 timestamps are epoch seconds; AWS gives millisecond precision.
    return round(moment.timestamp(), 3)


def _with_error(record: dict[str, Any], code: str | None, message: str | None) -> dict[str, Any]:
    # Absent, not null, when there is no error: AWS leaves the members out.
    if code is not None:
        record["ErrorCode"] = code
    if message is not None:
        record["ErrorMessage"] = message
    return record


def _page_size(params: Mapping[str, Any], maximum: int) -> int:
    limit: int | None = params.get("Limit")
    if limit is None or limit == 0:
        return maximum
    if not 0 < limit <= maximum:
        raise errors.invalid_limit(limit, maximum)
    return limit


@dataclass(frozen=True)
class _Page:
    items: list[Any]
    next_token: str | None = None


def _paginate[T](
    keyed: Sequence[tuple[str, T]],
    size: int,
    params: Mapping[str, Any],
    *,
    tokens: TokenCodec,
    scope: TokenScope,
    now: datetime,
) -> _Page:
    """One page of `keyed` (sorted by key) after the token's cursor."""
    start = 0
    token = params.get("NextToken")
    if token:
        try:
            cursor = tokens.redeem(token, scope, now)
        except InvalidTokenError as exc:
            raise errors.invalid_next_token(str(exc)) from exc
        start = bisect.bisect_right(keyed, cursor, key=lambda pair: pair[0])
    chunk = keyed[start : start + size]
    more = start + size < len(keyed)
    return _Page(
        [item for _, item in chunk],
        tokens.issue(scope, chunk[-1][0], now) if more else None,
    )


def _named[T](
    names: Sequence[str], table: Mapping[str, T], missing: Callable[[Sequence[str]], Exception]
) -> _Page:
    """Every named item in one answer (no paging), in the order asked, each once."""
    unique = list(dict.fromkeys(names))
    unknown = [name for name in unique if name not in table]
    if unknown:
        raise missing(unknown)
    return _Page([table[name] for name in unique])


def _answer(list_key: str, records: list[dict[str, Any]], page: _Page) -> dict[str, Any]:
    body: dict[str, Any] = {list_key: records}
    if page.next_token is not None:
        body["NextToken"] = page.next_token
    return body


def _region(org: Organization, call: Call) -> RegionData:
    """What the caller deployed in the region: each deploying account sees its own alone."""
    return org.find(call.region, call.account_id) or RegionData()


# Organization-level statuses -----------------------------------------------------------------


@dataclass(frozen=True)
class _Listing:
    kind: Kind
    names_key: str
    list_key: str
    name_key: str
    status_key: str
    missing: Callable[[Sequence[str]], errors.ApiError]


def _describe_organization(listing: _Listing) -> Handler:
    def handler(
        org: Organization, tokens: TokenCodec, call: Call, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        size = _page_size(params, ORGANIZATION_PAGE_MAX)
        table = _region(org, call).deployments(listing.kind)
        names = params.get(listing.names_key) or []
        if names:
            page = _named(names, table, listing.missing)
        else:
            scope = TokenScope(call.operation, call.region, call.access_key_id)
            page = _paginate(
                sorted(table.items()), size, params, tokens=tokens, scope=scope, now=call.now
            )
        return _answer(listing.list_key, [_org_record(listing, d) for d in page.items], page)

    return handler


def _org_record(listing: _Listing, deployment: Deployment) -> dict[str, Any]:
    outcome = deployment.outcome()
    record = {
        listing.name_key: deployment.name,
        listing.status_key: outcome.status,
        "LastUpdateTime": _epoch(deployment.last_update_time),
    }
    return _with_error(record, outcome.error_code, outcome.error_message)


# Member-account detail ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Detail:
    kind: Kind
    name_param: str
    list_key: str
    member_name_key: str
    status_key: str
    status_filter: str
    missing: Callable[[Sequence[str]], errors.ApiError]


def _detailed_status(detail: _Detail) -> Handler:
    def handler(
        org: Organization, tokens: TokenCodec, call: Call, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        size = _page_size(params, ORGANIZATION_PAGE_MAX)
        name: str = params[detail.name_param]
        deployment = _region(org, call).deployments(detail.kind).get(name)
        if deployment is None:
            raise detail.missing([name])
        filters: Mapping[str, str] = params.get("Filters") or {}
        account, status = filters.get("AccountId"), filters.get(detail.status_filter)
        keyed: Sequence[tuple[str, tuple[str, Member]]]
        if account is None and status is None:
            keyed = _MembersInOrder(deployment)
        else:
            # Filters apply before paging, so every page is full until the last.
            keyed = [
                (account_id, (account_id, member))
                for account_id, member in sorted(deployment.members.items())
                if account in (None, account_id) and status in (None, member.outcome.status)
            ]
        scope = TokenScope(call.operation, call.region, call.access_key_id, name, filters)
        page = _paginate(keyed, size, params, tokens=tokens, scope=scope, now=call.now)
        records = [_member_record(detail, deployment, *item) for item in page.items]
        return _answer(detail.list_key, records, page)

    return handler


class _MembersInOrder(Sequence[tuple[str, tuple[str, Member]]]):
    """(account, (account, member)) pairs in account order, without copying every member."""

    def __init__(self, deployment: Deployment) -> None:
        self._accounts = deployment.sorted_accounts()
        self._members = deployment.members

    def __len__(self) -> int:
        return len(self._accounts)

    @overload
    def __getitem__(self, index: int) -> tuple[str, tuple[str, Member]]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[str, tuple[str, Member]]]: ...
    def __getitem__(
        self, index: int | slice
    ) -> tuple[str, tuple[str, Member]] | list[tuple[str, tuple[str, Member]]]:
        if isinstance(index, slice):
            return [(a, (a, self._members[a])) for a in self._accounts[index]]
        account = self._accounts[index]
        return account, (account, self._members[account])


def _member_record(
    detail: _Detail, deployment: Deployment, account_id: str, member: Member
) -> dict[str, Any]:
    record = {
        "AccountId": account_id,
        detail.member_name_key: deployment.member_name,
        detail.status_key: member.outcome.status,
        "LastUpdateTime": _epoch(member.last_update_time),
    }
    return _with_error(record, member.outcome.error_code, member.outcome.error_message)


# The caller's own conformance packs --------------------------------------------------------


def describe_conformance_pack_status(
    org: Organization, tokens: TokenCodec, call: Call, params: Mapping[str, Any]
) -> dict[str, Any]:
    """A caller sees its own account's packs: a member account its own, not the organization's."""
    size = _page_size(params, ACCOUNT_PACK_PAGE_MAX)
    packs = (org.find(call.region) or RegionData()).account_packs.get(call.account_id, {})
    types: list[str] = (params.get("Filters") or {}).get("Types") or []
    names: list[str] = params.get("ConformancePackNames") or []
    if names:
        # Names are looked up among all the caller's packs; the type filter then applies.
        page = _named(names, packs, errors.no_such_conformance_pack)
        page = _Page([p for p in page.items if not types or p.pack_type in types])
    else:
        keyed = sorted(
            (name, pack) for name, pack in packs.items() if not types or pack.pack_type in types
        )
        scope = TokenScope(
            call.operation, call.region, call.access_key_id, filters={"Types": sorted(types)}
        )
        page = _paginate(keyed, size, params, tokens=tokens, scope=scope, now=call.now)
    return _answer("ConformancePackStatusDetails", [_pack_record(p) for p in page.items], page)


def _pack_record(pack: AccountPack) -> dict[str, Any]:
    record: dict[str, Any] = {
        "ConformancePackName": pack.name,
        "ConformancePackId": pack.pack_id,
        "ConformancePackArn": pack.arn,
        "ConformancePackState": pack.state,
        "StackArn": pack.stack_arn,
        "LastUpdateRequestedTime": _epoch(pack.last_update_requested_time),
        "Type": pack.pack_type,
    }
    if pack.reason is not None:
        record["ConformancePackStatusReason"] = pack.reason
    if pack.last_update_completed_time is not None:
        record["LastUpdateCompletedTime"] = _epoch(pack.last_update_completed_time)
    return record


OPERATIONS: dict[str, Operation] = {
    operation.name: operation
    for operation in (
        Operation(
            "DescribeOrganizationConfigRuleStatuses",
            organization=True,
            handler=_describe_organization(
                _Listing(
                    kind="rule",
                    names_key="OrganizationConfigRuleNames",
                    list_key="OrganizationConfigRuleStatuses",
                    name_key="OrganizationConfigRuleName",
                    status_key="OrganizationRuleStatus",
                    missing=errors.no_such_organization_rule,
                )
            ),
        ),
        Operation(
            "DescribeOrganizationConformancePackStatuses",
            organization=True,
            handler=_describe_organization(
                _Listing(
                    kind="pack",
                    names_key="OrganizationConformancePackNames",
                    list_key="OrganizationConformancePackStatuses",
                    name_key="OrganizationConformancePackName",
                    status_key="Status",
                    missing=errors.no_such_organization_pack,
                )
            ),
        ),
        Operation(
            "GetOrganizationConfigRuleDetailedStatus",
            organization=True,
            handler=_detailed_status(
                _Detail(
                    kind="rule",
                    name_param="OrganizationConfigRuleName",
                    list_key="OrganizationConfigRuleDetailedStatus",
                    member_name_key="ConfigRuleName",
                    status_key="MemberAccountRuleStatus",
                    status_filter="MemberAccountRuleStatus",
                    missing=errors.no_such_organization_rule,
                )
            ),
        ),
        Operation(
            "GetOrganizationConformancePackDetailedStatus",
            organization=True,
            handler=_detailed_status(
                _Detail(
                    kind="pack",
                    name_param="OrganizationConformancePackName",
                    list_key="OrganizationConformancePackDetailedStatuses",
                    member_name_key="ConformancePackName",
                    status_key="Status",
                    status_filter="Status",
                    missing=errors.no_such_organization_pack,
                )
            ),
        ),
        Operation(
            "DescribeConformancePackStatus",
            organization=False,
            handler=describe_conformance_pack_status,
        ),
    )
}
