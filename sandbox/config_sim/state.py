"""The scripted organization: accounts, and per region its organization rules and packs with
their member-account records, and each account's own conformance packs.

Everything here is guarded by one lock shared with the simulator: the HTTP threads read it while
a test or the demo changes it.
"""

from __future__ import annotations

import random
import string
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sandbox.config_sim.service_model import shape, string_problem

Kind = Literal["rule", "pack"]
Clock = Callable[[], datetime]

KINDS: tuple[Kind, ...] = ("rule", "pack")
DEPLOY_OPERATIONS = ("CREATE", "UPDATE", "DELETE")

# Names AWS gives an organization rule or pack inside each member account.
_MEMBER_NAME_PREFIX: dict[Kind, str] = {"rule": "OrgConfigRule", "pack": "OrgConformsPack"}
# The shapes of those member-side names (ConfigRuleName, ConformancePackName): they bound them.
MEMBER_NAME_SHAPE: dict[Kind, str] = {
    "rule": "StringWithCharLimit64",
    "pack": "StringWithCharLimit256",
}
# The model shapes that bound the names callers may use.
_NAME_SHAPE: dict[Kind, str] = {
    "rule": "OrganizationConfigRuleName",
    "pack": "OrganizationConformancePackName",
}
_ALPHANUMERIC = string.ascii_lowercase + string.digits


def utc_now() -> datetime:
    return datetime.now(UTC)


def check_name(shape_name: str, value: str, what: str) -> None:
    """Refuse a name the API model would not allow, so every answer stays valid."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {value!r}")
    problem = string_problem(shape(shape_name), value)
    if problem:
        raise ValueError(f"{what} {value!r} is not valid: {problem}")


def check_kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValueError(f"kind must be 'rule' or 'pack', got {kind!r}")
    return kind


@dataclass(frozen=True)
class Outcome:
    """A deployment status with the error that explains it, if any."""

    status: str
    error_code: str | None = None
    error_message: str | None = None


@dataclass
class Member:
    """A rule's or pack's record in one member account."""

    outcome: Outcome
    last_update_time: datetime


@dataclass
class Deployment:
    """An organization rule or pack in one region."""

    kind: Kind
    name: str
    member_name: str
    operation: str
    members: dict[str, Member]
    last_update_time: datetime
    override: Outcome | None = None
    # The derived status, kept until a member changes: deriving it walks every member, and a page
    # of 100 rules in a 10,000-account organization would walk a million records.
    _derived: tuple[str, Outcome] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    # The member accounts in order, kept until one joins or leaves: a page of 100 out of 10,000
    # accounts should not sort 10,000 ids.
    _accounts: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    def sorted_accounts(self) -> list[str]:
        """The member account ids in ascending order (shared: do not change it)."""
        if self._accounts is None:
            self._accounts = sorted(self.members)
        return self._accounts

    def outcome(self) -> Outcome:
        """The organization-level status: the override, else derived from the members."""
        if self.override is not None:
            return self.override
        if self._derived is not None and self._derived[0] == self.operation:
            return self._derived[1]
        ordered = [self.members[account].outcome for account in self.sorted_accounts()]
        failing = next((o for o in ordered if o.status.endswith("_FAILED")), None)
        if failing is not None:
            derived = Outcome(f"{self.operation}_FAILED", failing.error_code, failing.error_message)
        elif any(o.status.endswith("_IN_PROGRESS") for o in ordered):
            derived = Outcome(f"{self.operation}_IN_PROGRESS")
        else:
            derived = Outcome(f"{self.operation}_SUCCESSFUL")
        self._derived = (self.operation, derived)
        return derived

    def set_member(self, account_id: str, outcome: Outcome, now: datetime) -> None:
        """A member's LastUpdateTime moves only when what it reports changes."""
        current = self.members.get(account_id)
        if current is not None and current.outcome == outcome:
            return
        if current is None:
            self._accounts = None
        self.members[account_id] = Member(outcome, now)
        self.last_update_time = now
        self._derived = None

    def remove_member(self, account_id: str) -> bool:
        """Drop an account's record; True if it had one."""
        if self.members.pop(account_id, None) is None:
            return False
        self._derived = None
        self._accounts = None
        return True


@dataclass
class AccountPack:
    """A conformance pack as the account that holds it sees it (DescribeConformancePackStatus)."""

    name: str
    account_id: str
    pack_id: str
    arn: str
    stack_arn: str
    state: str
    reason: str | None
    pack_type: str
    last_update_requested_time: datetime
    last_update_completed_time: datetime | None


@dataclass
class RegionData:
    rules: dict[str, Deployment] = field(default_factory=dict)
    packs: dict[str, Deployment] = field(default_factory=dict)
    # account id -> pack name -> pack
    account_packs: dict[str, dict[str, AccountPack]] = field(default_factory=dict)

    def deployments(self, kind: Kind) -> dict[str, Deployment]:
        return self.rules if kind == "rule" else self.packs


class Organization:
    """Accounts, access keys and every region's data; the Region views change it."""

    def __init__(
        self, management_account_id: str, clock: Clock, lock: threading.RLock, seed: int = 0
    ) -> None:
        check_name("AccountId", management_account_id, "management_account_id")
        self.lock = lock
        self.clock = clock
        self.management_account_id = management_account_id
        self._seed = seed
        # Not for security: seeded, so generated names and ids repeat from run to run.
        self.random = random.Random(seed)  # noqa: S311
        self.accounts: set[str] = set()
        self.callers: dict[str, str] = {}
        # The management account's organization rules and packs, and every account's own packs.
        self.regions: dict[str, RegionData] = {}
        # Delegated administrators for AWS Config (config-multiaccountsetup.amazonaws.com): each
        # deploys organization rules and packs of its own, seen by it alone.
        self.delegated_admins: set[str] = set()
        self.admin_regions: dict[str, dict[str, RegionData]] = {}  # admin -> region -> data
        # Temporary access keys whose account STS told (see ConfigSimulator.identity_endpoint).
        self.resolved: dict[str, str] = {}

    def reset(self) -> None:
        """An empty organization, with the same management account and a re-seeded id source."""
        with self.lock:
            self.accounts.clear()
            self.callers.clear()
            self.regions.clear()
            self.delegated_admins.clear()
            self.admin_regions.clear()
            self.resolved.clear()
            self.random.seed(self._seed)

    def now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the simulator's clock must return timezone-aware datetimes")
        return now

    def random_suffix(self, length: int) -> str:
        return "".join(self.random.choice(_ALPHANUMERIC) for _ in range(length))

    def member_name(self, kind: Kind, name: str) -> str:
        prefix, suffix = _MEMBER_NAME_PREFIX[kind], self.random_suffix(8)
        maximum: int = shape(MEMBER_NAME_SHAPE[kind]).metadata["max"]
        room = maximum - len(prefix) - len(suffix) - 2
        return f"{prefix}-{name[:room]}-{suffix}"

    def data(self, region: str, deployed_by: str | None = None) -> RegionData:
        """The region's data, created on first use: the organization rules and packs that
        `deployed_by` deployed (None: the management account), and the accounts' own packs."""
        if not region:
            raise ValueError("region must be a non-empty string")
        if deployed_by in (None, self.management_account_id):
            return self.regions.setdefault(region, RegionData())
        if deployed_by not in self.delegated_admins:
            raise ValueError(
                f"{deployed_by} is not a delegated administrator "
                "(call register_delegated_admin first)"
            )
        return self.admin_regions.setdefault(deployed_by, {}).setdefault(region, RegionData())

    def find(self, region: str, deployed_by: str | None = None) -> RegionData | None:
        """The region's data without creating it: reading must not add regions to the state."""
        if deployed_by in (None, self.management_account_id):
            return self.regions.get(region)
        return self.admin_regions.get(deployed_by, {}).get(region)

    def all_data(self) -> list[RegionData]:
        """Every region's data, of every deploying account."""
        return [*self.regions.values()] + [
            data for regions in self.admin_regions.values() for data in regions.values()
        ]

    def account_of(self, access_key_id: str) -> str:
        """Keys not registered as a member account's, nor resolved by STS, are the management
        account's."""
        registered = self.callers.get(access_key_id) or self.resolved.get(access_key_id)
        return registered or self.management_account_id

    def may_call_organization_operations(self, account_id: str) -> bool:
        return account_id == self.management_account_id or account_id in self.delegated_admins

    def register_delegated_admin(self, account_id: str) -> None:
        """As organizations:RegisterDelegatedAdministrator for config-multiaccountsetup."""
        with self.lock:
            self.check_members([account_id])
            self.delegated_admins.add(account_id)

    def deregister_delegated_admin(self, account_id: str) -> None:
        """What it deployed goes with it, as AWS removes a former administrator's deployments."""
        with self.lock:
            self.delegated_admins.discard(account_id)
            self.admin_regions.pop(account_id, None)

    def add_accounts(self, account_ids: Iterable[str]) -> None:
        ids = list(account_ids)
        for account_id in ids:
            check_name("AccountId", account_id, "account id")
        with self.lock:
            self.accounts.update(ids)

    def remove_account(self, account_id: str) -> None:
        """The account leaves: its member records go, and each deployment it left shows a change."""
        with self.lock:
            self.accounts.discard(account_id)
            now = self.now()
            if account_id in self.delegated_admins:
                self.deregister_delegated_admin(account_id)
            for data in self.all_data():
                for kind in KINDS:
                    for deployment in data.deployments(kind).values():
                        if deployment.remove_member(account_id):
                            deployment.last_update_time = now

    def set_caller_account(self, access_key_id: str, account_id: str) -> None:
        check_name("AccountId", account_id, "account id")
        with self.lock:
            self.callers[access_key_id] = account_id

    def check_members(self, account_ids: Iterable[str]) -> None:
        outside = sorted(set(account_ids) - self.accounts)
        if outside:
            raise ValueError(
                f"not in the organization: {', '.join(outside)} (call add_accounts first)"
            )


class Region:
    """The scripting handle of one region: `sim.region("eu-west-1").put_org_pack(...)`.

    A view, not a copy: it looks its data up on every call, so it stays valid across reset()
    and load_state().
    """

    def __init__(
        self, organization: Organization, name: str, deployed_by: str | None = None
    ) -> None:
        if not name:
            raise ValueError("region must be a non-empty string")
        self._org = organization
        self.name = name
        # Whose organization rules and packs this handle scripts: None, the management account.
        self.deployed_by = deployed_by

    def __repr__(self) -> str:
        by = f", deployed_by={self.deployed_by!r}" if self.deployed_by else ""
        return f"Region({self.name!r}{by})"

    def deployments(self, kind: Kind) -> dict[str, Deployment]:
        """The organization rules or packs this handle's account deployed in the region."""
        return self._org.data(self.name, self.deployed_by).deployments(kind)

    # Organization rules and packs -----------------------------------------------------------

    def put_org_rule(
        self,
        name: str,
        accounts: Iterable[str] | None = None,
        status: str = "CREATE_SUCCESSFUL",
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        """Create the rule (CREATE) or re-deploy it (UPDATE) to `accounts` (None: every account)."""
        self._put("rule", name, accounts, Outcome(status, error_code, error_message))

    def put_org_pack(
        self,
        name: str,
        accounts: Iterable[str] | None = None,
        status: str = "CREATE_SUCCESSFUL",
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        """Create the pack (CREATE) or re-deploy it (UPDATE) to `accounts` (None: every account)."""
        self._put("pack", name, accounts, Outcome(status, error_code, error_message))

    def set_member_status(  # noqa: PLR0917 - the scripting signature tests and demos use
        self,
        kind: str,
        name: str,
        account_id: str,
        status: str,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        """Set one member account's record; any status string is passed on verbatim."""
        with self._org.lock:
            self._org.check_members([account_id])
            deployment = self._deployment(check_kind(kind), name)
            deployment.set_member(
                account_id, Outcome(status, error_code, error_message), self._org.now()
            )

    def set_org_status(
        self,
        kind: str,
        name: str,
        status: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        """Override the organization-level status (as seen stuck in the field); None derives it."""
        with self._org.lock:
            deployment = self._deployment(check_kind(kind), name)
            deployment.override = (
                None if status is None else Outcome(status, error_code, error_message)
            )
            deployment.last_update_time = self._org.now()

    def begin_org_delete(
        self,
        kind: str,
        name: str,
        status: str = "DELETE_IN_PROGRESS",
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        """A deletion that is still visible: the operation becomes DELETE, every member `status`.

        delete_org_rule/delete_org_pack then make it disappear, as AWS does once it is done.
        """
        with self._org.lock:
            deployment = self._deployment(check_kind(kind), name)
            deployment.operation = "DELETE"
            now = self._org.now()
            for account_id in list(deployment.members):
                deployment.set_member(account_id, Outcome(status, error_code, error_message), now)
            deployment.last_update_time = now

    def delete_org_rule(self, name: str) -> None:
        """Gone from every API, as after a completed DeleteOrganizationConfigRule."""
        self._delete("rule", name)

    def delete_org_pack(self, name: str) -> None:
        """Gone from every API, as after a completed DeleteOrganizationConformancePack."""
        self._delete("pack", name)

    # The account's own conformance packs -----------------------------------------------------

    def put_account_pack(
        self,
        name: str,
        state: str = "CREATE_COMPLETE",
        reason: str | None = None,
        account_id: str | None = None,
        pack_type: str = "CUSTOM",
    ) -> None:
        """Create or update a pack of `account_id` (None: the management account).

        Its id, ARN and stack stay for its lifetime; LastUpdateCompletedTime moves only when
        `state` is a *_COMPLETE one and is kept after a later failure, as AWS keeps it.
        """
        check_name("ConformancePackName", name, "conformance pack name")
        check_name("ConformancePackType", pack_type, "pack_type")
        if reason is not None:
            check_name("ConformancePackStatusReason", reason, "reason")
        with self._org.lock:
            owner = account_id or self._org.management_account_id
            check_name("AccountId", owner, "account id")
            packs = self._org.data(self.name).account_packs.setdefault(owner, {})
            now = self._org.now()
            completed = now if state.endswith("_COMPLETE") else None
            pack = packs.get(name)
            if pack is None:
                pack_id = f"conformance-pack-{self._org.random_suffix(12)}"
                stack_id = uuid.UUID(int=self._org.random.getrandbits(128), version=4)
                packs[name] = AccountPack(
                    name=name,
                    account_id=owner,
                    pack_id=pack_id,
                    arn=f"arn:aws:config:{self.name}:{owner}:conformance-pack/{name}/{pack_id}",
                    stack_arn=(
                        f"arn:aws:cloudformation:{self.name}:{owner}:stack/"
                        f"awsconfigconforms-{name}-{self._org.random_suffix(8)}/{stack_id}"
                    ),
                    state=state,
                    reason=reason,
                    pack_type=pack_type,
                    last_update_requested_time=now,
                    last_update_completed_time=completed,
                )
                return
            pack.state, pack.reason, pack.pack_type = state, reason, pack_type
            pack.last_update_requested_time = now
            pack.last_update_completed_time = completed or pack.last_update_completed_time

    def delete_account_pack(self, name: str, account_id: str | None = None) -> None:
        with self._org.lock:
            owner = account_id or self._org.management_account_id
            packs = self._org.data(self.name).account_packs.get(owner, {})
            if packs.pop(name, None) is None:
                raise KeyError(f"no conformance pack {name!r} of {owner} in {self.name}")

    # ------------------------------------------------------------------------------------------

    def _put(self, kind: Kind, name: str, accounts: Iterable[str] | None, outcome: Outcome) -> None:
        check_name(_NAME_SHAPE[kind], name, f"organization {kind} name")
        with self._org.lock:
            targets = sorted(self._org.accounts if accounts is None else set(accounts))
            self._org.check_members(targets)
            now = self._org.now()
            table = self.deployments(kind)
            existing = table.get(name)
            table[name] = Deployment(
                kind=kind,
                name=name,
                # The member-side name is chosen once, at creation, as AWS does.
                member_name=existing.member_name if existing else self._org.member_name(kind, name),
                operation="UPDATE" if existing else "CREATE",
                members={account: Member(outcome, now) for account in targets},
                last_update_time=now,
            )

    def _delete(self, kind: Kind, name: str) -> None:
        with self._org.lock:
            table = self.deployments(kind)
            if table.pop(name, None) is None:
                raise KeyError(f"no organization {kind} {name!r} in {self.name}")

    def _deployment(self, kind: Kind, name: str) -> Deployment:
        deployment = self.deployments(kind).get(name)
        if deployment is None:
            raise KeyError(f"no organization {kind} {name!r} in {self.name}")
        return deployment
