"""The organization as a JSON document: what dump_state() writes, load_state() and scenario
files read.

    {
      "management_account_id": "111111111111",
      "accounts": ["222222222222", "333333333333"],
      "callers": {"AKIAMEMBER": "222222222222"},
      "delegated_admins": ["333333333333"],      # registered for config-multiaccountsetup
      "deployed_by_delegated_admins": {          # what each of them deployed, seen by it alone
        "333333333333": {"us-east-1": {"organization_packs": [{"name": "security-baseline"}]}}
      },
      "regions": {
        "us-east-1": {
          "organization_rules": [{"name": "s3-encryption"}],
          "organization_packs": [{
            "name": "ops-baseline",
            "accounts": null,                # absent or null: every account of the organization
            "status": "CREATE_SUCCESSFUL",   # for `accounts`, as put_org_pack(status=...)
            "members": [{"account_id": "333333333333", "status": "CREATE_FAILED",
                         "error_code": "...", "error_message": "..."}],
            "operation": "CREATE", "org_status": {"status": "CREATE_IN_PROGRESS"},
            "member_name": "OrgConformsPack-ops-baseline-abcd1234",
            "last_update_time": "2026-11-21T09:00:00+00:00"
          }],
          "account_packs": [{"name": "local-guardrails", "state": "CREATE_FAILED",
                             "reason": "...", "account_id": "111111111111"}]
        }
      }
    }

Only `name` is required in an entry; times default to now, names and ids are generated. A dump
spells everything out (its deployments list every member under `members` with `accounts: []`),
so loading a dump gives back the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sandbox.config_sim.state import (
    DEPLOY_OPERATIONS,
    KINDS,
    MEMBER_NAME_SHAPE,
    AccountPack,
    Deployment,
    Kind,
    Organization,
    Outcome,
    Region,
    check_name,
)

_SECTION: dict[Kind, str] = {"rule": "organization_rules", "pack": "organization_packs"}


def dump(org: Organization) -> dict[str, Any]:
    """The whole organization as a JSON-able document."""
    with org.lock:
        return {
            "management_account_id": org.management_account_id,
            "accounts": sorted(org.accounts),
            "callers": dict(sorted(org.callers.items())),
            "delegated_admins": sorted(org.delegated_admins),
            "deployed_by_delegated_admins": {
                admin: {
                    name: {
                        _SECTION[kind]: [
                            _dump_deployment(d) for _, d in sorted(data.deployments(kind).items())
                        ]
                        for kind in KINDS
                    }
                    for name, data in sorted(regions.items())
                }
                for admin, regions in sorted(org.admin_regions.items())
            },
            "regions": {
                name: {
                    **{
                        _SECTION[kind]: [
                            _dump_deployment(d) for _, d in sorted(data.deployments(kind).items())
                        ]
                        for kind in KINDS
                    },
                    "account_packs": [
                        _dump_account_pack(pack)
                        for _, packs in sorted(data.account_packs.items())
                        for _, pack in sorted(packs.items())
                    ],
                }
                for name, data in sorted(org.regions.items())
            },
        }


def load(org: Organization, doc: Mapping[str, Any]) -> None:
    """Replace the organization with `doc`; a bad document raises ValueError and changes nothing."""
    if not isinstance(doc, Mapping):
        raise ValueError("a state document must be a JSON object")
    with org.lock:
        saved = (
            org.management_account_id,
            set(org.accounts),
            dict(org.callers),
            org.regions,
            set(org.delegated_admins),
            org.admin_regions,
        )
        try:
            org.accounts.clear()
            org.callers.clear()
            org.regions = {}
            org.delegated_admins.clear()
            org.admin_regions = {}
            _load(org, doc)
        except (ValueError, TypeError, KeyError) as exc:
            (
                org.management_account_id,
                org.accounts,
                org.callers,
                org.regions,
                org.delegated_admins,
                org.admin_regions,
            ) = saved
            raise ValueError(f"invalid state document: {exc}") from exc


def _load(org: Organization, doc: Mapping[str, Any]) -> None:
    _only(
        doc,
        {
            "management_account_id", "accounts", "callers", "regions", "delegated_admins",
            "deployed_by_delegated_admins",
        },
        "the document",
    )  # fmt: skip
    management = doc.get("management_account_id", org.management_account_id)
    check_name("AccountId", management, "management_account_id")
    org.management_account_id = management
    org.add_accounts(_list(doc, "accounts", "the document"))
    callers = doc.get("callers") or {}
    if not isinstance(callers, Mapping):
        raise ValueError("callers must map access key ids to account ids")
    for key, account_id in callers.items():
        org.set_caller_account(key, account_id)
    regions = doc.get("regions") or {}
    if not isinstance(regions, Mapping):
        raise ValueError("regions must map region names to their contents")
    for region_name, content in regions.items():
        where = f"regions.{region_name}"
        if not isinstance(content, Mapping):
            raise ValueError(f"{where} must be an object")
        _only(content, {*_SECTION.values(), "account_packs"}, where)
        region = Region(org, region_name)
        org.data(region_name)  # an empty region in the document stays in the state
        for kind in KINDS:
            for index, entry in enumerate(_list(content, _SECTION[kind], where)):
                _load_deployment(org, region, kind, entry, f"{where}.{_SECTION[kind]}[{index}]")
        for index, entry in enumerate(_list(content, "account_packs", where)):
            _load_account_pack(org, region, entry, f"{where}.account_packs[{index}]")
    _load_delegated(org, doc)


def _load_delegated(org: Organization, doc: Mapping[str, Any]) -> None:
    for admin in _list(doc, "delegated_admins", "the document"):
        org.register_delegated_admin(admin)
    deployed = doc.get("deployed_by_delegated_admins") or {}
    if not isinstance(deployed, Mapping):
        raise ValueError("deployed_by_delegated_admins must map account ids to regions")
    for admin, admin_regions in deployed.items():
        if not isinstance(admin_regions, Mapping):
            raise ValueError(f"deployed_by_delegated_admins.{admin} must map regions to contents")
        for region_name, content in admin_regions.items():
            where = f"deployed_by_delegated_admins.{admin}.{region_name}"
            if not isinstance(content, Mapping):
                raise ValueError(f"{where} must be an object")
            _only(content, set(_SECTION.values()), where)
            region = Region(org, region_name, deployed_by=admin)
            org.data(region_name, admin)
            for kind in KINDS:
                for index, entry in enumerate(_list(content, _SECTION[kind], where)):
                    _load_deployment(org, region, kind, entry, f"{where}.{_SECTION[kind]}[{index}]")


def _dump_deployment(deployment: Deployment) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": deployment.name,
        "operation": deployment.operation,
        "member_name": deployment.member_name,
        "last_update_time": deployment.last_update_time.isoformat(),
        "accounts": [],
        "members": [
            {
                "account_id": account_id,
                **_dump_outcome(member.outcome),
                "last_update_time": member.last_update_time.isoformat(),
            }
            for account_id, member in sorted(deployment.members.items())
        ],
    }
    if deployment.override is not None:
        doc["org_status"] = _dump_outcome(deployment.override)
    return doc


def _load_deployment(org: Organization, region: Region, kind: Kind, entry: Any, where: str) -> None:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where} must be an object")
    _only(
        entry,
        {
            "name", "accounts", "status", "error_code", "error_message", "members",
            "operation", "org_status", "member_name", "last_update_time",
        },
        where,
    )  # fmt: skip
    name = _required(entry, "name", where)
    accounts = entry.get("accounts")
    if accounts is not None and not isinstance(accounts, list):
        raise ValueError(f"{where}.accounts must be a list of account ids, or null for all")
    put = region.put_org_rule if kind == "rule" else region.put_org_pack
    put(
        name,
        accounts=accounts,
        status=entry.get("status", "CREATE_SUCCESSFUL"),
        error_code=entry.get("error_code"),
        error_message=entry.get("error_message"),
    )
    deployment = region.deployments(kind)[name]
    operation = entry.get("operation", "CREATE")
    if operation not in DEPLOY_OPERATIONS:
        raise ValueError(f"{where}.operation must be one of {DEPLOY_OPERATIONS}")
    deployment.operation = operation
    if "member_name" in entry:
        check_name(MEMBER_NAME_SHAPE[kind], entry["member_name"], f"{where}.member_name")
        deployment.member_name = entry["member_name"]
    for index, member in enumerate(_list(entry, "members", where)):
        member_where = f"{where}.members[{index}]"
        if not isinstance(member, Mapping):
            raise ValueError(f"{member_where} must be an object")
        _only(
            member,
            {"account_id", "status", "error_code", "error_message", "last_update_time"},
            member_where,
        )
        account_id = _required(member, "account_id", member_where)
        org.check_members([account_id])
        deployment.set_member(account_id, _load_outcome(member, member_where), org.now())
        if "last_update_time" in member:
            deployment.members[account_id].last_update_time = _time(
                member["last_update_time"], f"{member_where}.last_update_time"
            )
    if entry.get("org_status") is not None:
        deployment.override = _load_outcome(entry["org_status"], f"{where}.org_status")
    deployment.last_update_time = (
        _time(entry["last_update_time"], f"{where}.last_update_time")
        if "last_update_time" in entry
        else max(
            [m.last_update_time for m in deployment.members.values()],
            default=deployment.last_update_time,
        )
    )


def _dump_account_pack(pack: AccountPack) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": pack.name,
        "account_id": pack.account_id,
        "state": pack.state,
        "type": pack.pack_type,
        "id": pack.pack_id,
        "stack_arn": pack.stack_arn,
        "last_update_requested_time": pack.last_update_requested_time.isoformat(),
    }
    if pack.reason is not None:
        doc["reason"] = pack.reason
    if pack.last_update_completed_time is not None:
        doc["last_update_completed_time"] = pack.last_update_completed_time.isoformat()
    return doc


def _load_account_pack(org: Organization, region: Region, entry: Any, where: str) -> None:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where} must be an object")
    _only(
        entry,
        {
            "name", "account_id", "state", "reason", "type", "id", "stack_arn",
            "last_update_requested_time", "last_update_completed_time",
        },
        where,
    )  # fmt: skip
    name = _required(entry, "name", where)
    owner = entry.get("account_id") or org.management_account_id
    region.put_account_pack(
        name,
        state=entry.get("state", "CREATE_COMPLETE"),
        reason=entry.get("reason"),
        account_id=owner,
        pack_type=entry.get("type", "CUSTOM"),
    )
    pack = org.data(region.name).account_packs[owner][name]
    if "id" in entry:
        check_name("ConformancePackId", entry["id"], f"{where}.id")
        pack.pack_id = entry["id"]
        pack.arn = f"arn:aws:config:{region.name}:{owner}:conformance-pack/{name}/{pack.pack_id}"
    if "stack_arn" in entry:
        check_name("StackArn", entry["stack_arn"], f"{where}.stack_arn")
        pack.stack_arn = entry["stack_arn"]
    if "last_update_requested_time" in entry:
        pack.last_update_requested_time = _time(
            entry["last_update_requested_time"], f"{where}.last_update_requested_time"
        )
    if "last_update_completed_time" in entry:
        pack.last_update_completed_time = _time(
            entry["last_update_completed_time"], f"{where}.last_update_completed_time"
        )


def _dump_outcome(outcome: Outcome) -> dict[str, Any]:
    doc: dict[str, Any] = {"status": outcome.status}
    if outcome.error_code is not None:
        doc["error_code"] = outcome.error_code
    if outcome.error_message is not None:
        doc["error_message"] = outcome.error_message
    return doc


def _load_outcome(doc: Any, where: str) -> Outcome:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("status"), str):
        raise ValueError(f"{where} must be an object with a string 'status'")
    for key in ("error_code", "error_message"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise ValueError(f"{where}.{key} must be a string")
    return Outcome(doc["status"], doc.get("error_code"), doc.get("error_message"))


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc
    # A scenario written by hand may leave out the zone: it means UTC, as everywhere in AWS.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _required(doc: Mapping[str, Any], key: str, where: str) -> Any:
    if doc.get(key) is None:
        raise ValueError(f"{where} needs a {key!r}")
    return doc[key]


def _list(doc: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where}.{key} must be a list")
    return value


def _only(doc: Mapping[str, Any], allowed: set[str], where: str) -> None:
    # A misspelt key would otherwise be ignored silently and the scenario would not be the one
    # its author meant.
    unknown = set(doc) - allowed
    if unknown:
        raise ValueError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
