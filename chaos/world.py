"""The truth of a chaos run: a plain model of the organization, changed by scripted events.

The same events drive the Config simulator (`Event.drive`), so what the notifier can read at a
tick and what this model says at that tick are the same thing, computed independently. The model
derives the organization-level status of a rule or pack from its members exactly as AWS Config
does (and the simulator imitates): the override if one is set, else the first failing member by
account id, else in progress if any member is, else successful.

What a subscriber must hear is less than every change of the truth (docs/design.md rule 7): the
notifier reads member accounts only through the unhealthy statuses' filters and the accounts it
knew as not healthy, so a member that is healthy is never told of. To a subscriber it is the same
as one that is not there (`heard`), and a status no filter asks for is seen only in a member the
notifier already knew as not healthy (`unfiltered`).

Pure: no I/O, except `Event.drive`, which only calls the simulator's scripting API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sandbox.config_sim import ConfigSimulator

DeployKind = Literal["rule", "pack"]
DEPLOY_KINDS: tuple[DeployKind, ...] = ("rule", "pack")

# The notifier's entity kinds, as its messages name them.
PARENT_KIND: dict[DeployKind, str] = {"rule": "organization-rule", "pack": "organization-pack"}
MEMBER_KIND: dict[DeployKind, str] = {
    "rule": "organization-rule-member",
    "pack": "organization-pack-member",
}
MEMBER_KINDS = frozenset(MEMBER_KIND.values())
ACCOUNT_PACK = "account-pack"

# The nine member statuses AWS documents: what a subscriber is not told of (successful), and the
# six the notifier reads members through (docs/design.md rule 7).
_OPERATIONS = ("CREATE", "UPDATE", "DELETE")
SUCCESSFUL = frozenset(f"{operation}_SUCCESSFUL" for operation in _OPERATIONS)
UNHEALTHY = frozenset(
    f"{operation}_{state}" for operation in _OPERATIONS for state in ("FAILED", "IN_PROGRESS")
)

Key = tuple[str, str, str, str]
"""(region, kind, name, account id or ""): one entity the notifier watches."""
State = tuple[str, str | None]
"""(status, error code): what a transition is about; a reworded error message is not one."""
Truth = dict[Key, State]
"""Every entity that exists at one tick boundary, and its state (absent: it does not exist)."""


@dataclass(frozen=True)
class Outcome:
    status: str
    error_code: str | None = None
    error_message: str | None = None

    @property
    def state(self) -> State:
        return (self.status, self.error_code)


@dataclass
class Deployment:
    operation: str  # CREATE, UPDATE or DELETE
    members: dict[str, Outcome] = field(default_factory=dict)
    override: Outcome | None = None

    def outcome(self) -> Outcome:
        """The organization-level status, derived as AWS Config derives it."""
        if self.override is not None:
            return self.override
        ordered = [self.members[account] for account in sorted(self.members)]
        failing = next((o for o in ordered if o.status.endswith("_FAILED")), None)
        if failing is not None:
            return Outcome(f"{self.operation}_FAILED", failing.error_code, failing.error_message)
        if any(o.status.endswith("_IN_PROGRESS") for o in ordered):
            return Outcome(f"{self.operation}_IN_PROGRESS")
        return Outcome(f"{self.operation}_SUCCESSFUL")


@dataclass
class RegionWorld:
    rules: dict[str, Deployment] = field(default_factory=dict)
    packs: dict[str, Deployment] = field(default_factory=dict)
    account_packs: dict[str, Outcome] = field(default_factory=dict)  # name -> state, reason

    def deployments(self, kind: DeployKind) -> dict[str, Deployment]:
        return self.rules if kind == "rule" else self.packs


@dataclass
class World:
    """Accounts and, per region, organization rules and packs and this account's own packs."""

    accounts: set[str] = field(default_factory=set)
    regions: dict[str, RegionWorld] = field(default_factory=dict)

    def region(self, name: str) -> RegionWorld:
        return self.regions.setdefault(name, RegionWorld())

    def observe(self) -> Truth:
        """Every entity the notifier can see, and its state."""
        truth: Truth = {}
        for region, data in self.regions.items():
            for kind in DEPLOY_KINDS:
                for name, deployment in data.deployments(kind).items():
                    truth[(region, PARENT_KIND[kind], name, "")] = deployment.outcome().state
                    for account, outcome in deployment.members.items():
                        truth[(region, MEMBER_KIND[kind], name, account)] = outcome.state
            for name, outcome in data.account_packs.items():
                truth[(region, ACCOUNT_PACK, name, "")] = (outcome.status, None)
        return truth

    def differences(self, dump: Mapping[str, Any]) -> list[str]:
        """Where the simulator's state document (`dump_state()`) disagrees with this model."""
        problems: list[str] = []
        if sorted(self.accounts) != dump["accounts"]:
            problems.append(f"accounts: model {sorted(self.accounts)} sim {dump['accounts']}")
        regions = {r for r, d in self.regions.items() if d.rules or d.packs or d.account_packs}
        for region in sorted(regions | set(dump["regions"])):
            data = self.regions.get(region, RegionWorld())
            doc = dump["regions"].get(region, {})
            for kind in DEPLOY_KINDS:
                section = f"organization_{kind}s"
                theirs = {d["name"]: d for d in doc.get(section, [])}
                ours = data.deployments(kind)
                for name in sorted(set(ours) | set(theirs)):
                    mine, sim = ours.get(name), theirs.get(name)
                    if mine is None or sim is None:
                        where = "simulator" if mine is None else "model"
                        problems.append(f"{region} {kind} {name}: only in the {where}")
                        continue
                    members = {
                        m["account_id"]: Outcome(
                            m["status"], m.get("error_code"), m.get("error_message")
                        )
                        for m in sim["members"]
                    }
                    override = sim.get("org_status")
                    pinned = Outcome(**override) if override else None
                    if (members, sim["operation"], pinned) != (
                        mine.members,
                        mine.operation,
                        mine.override,
                    ):
                        problems.append(f"{region} {kind} {name}: members or status differ")
            theirs_packs = {
                p["name"]: Outcome(p["state"], None, p.get("reason"))
                for p in doc.get("account_packs", [])
            }
            if theirs_packs != data.account_packs:
                problems.append(f"{region} account packs differ")
        return problems


def heard(key: Key, state: State | None) -> State | None:
    """What a subscriber must know of an entity in `state`: a member account that is successful
    is neither read nor told of, so it is None, as one that is not there; anything else as it is.

    A member that recovers is told of, with its successful status: that delivery takes the
    subscriber to None too, and whether the status it told was the true one is judged against
    the whole truth, not this.
    """
    if key[1] in MEMBER_KINDS and state is not None and state[0] in SUCCESSFUL:
        return None
    return state


def unfiltered(key: Key, state: State | None) -> bool:
    """A member in a status none of the nine documented ones (AWS may add one, rule 5): no filter
    asks for it, so the notifier sees it only in a member it knew as not healthy."""
    return key[1] in MEMBER_KINDS and state is not None and state[0] not in SUCCESSFUL | UNHEALTHY


# Events: each changes the model and drives the simulator the same way ---------------------------


@dataclass(frozen=True)
class AddAccounts:
    accounts: tuple[str, ...]

    def valid(self, world: World) -> bool:
        return not set(self.accounts) & world.accounts

    def apply(self, world: World) -> None:
        world.accounts.update(self.accounts)

    def drive(self, sim: ConfigSimulator) -> None:
        sim.add_accounts(self.accounts)


@dataclass(frozen=True)
class RemoveAccount:
    account: str

    def valid(self, world: World) -> bool:
        return self.account in world.accounts

    def apply(self, world: World) -> None:
        world.accounts.discard(self.account)
        for data in world.regions.values():
            for kind in DEPLOY_KINDS:
                for deployment in data.deployments(kind).values():
                    deployment.members.pop(self.account, None)

    def drive(self, sim: ConfigSimulator) -> None:
        sim.remove_account(self.account)


@dataclass(frozen=True)
class PutOrg:
    """Create (CREATE) or re-deploy (UPDATE) a rule or pack to `accounts` (None: every account)."""

    region: str
    kind: DeployKind
    name: str
    status: str
    accounts: tuple[str, ...] | None = None
    error_code: str | None = None
    error_message: str | None = None

    def valid(self, world: World) -> bool:
        return self.accounts is None or set(self.accounts) <= world.accounts

    def apply(self, world: World) -> None:
        table = world.region(self.region).deployments(self.kind)
        targets = world.accounts if self.accounts is None else set(self.accounts)
        outcome = Outcome(self.status, self.error_code, self.error_message)
        table[self.name] = Deployment(
            "UPDATE" if self.name in table else "CREATE", dict.fromkeys(targets, outcome)
        )

    def drive(self, sim: ConfigSimulator) -> None:
        region = sim.region(self.region)
        put = region.put_org_rule if self.kind == "rule" else region.put_org_pack
        put(self.name, self.accounts, self.status, self.error_code, self.error_message)


@dataclass(frozen=True)
class SetMember:
    region: str
    kind: DeployKind
    name: str
    account: str
    status: str
    error_code: str | None = None
    error_message: str | None = None

    def valid(self, world: World) -> bool:
        deployments = world.region(self.region).deployments(self.kind)
        return self.name in deployments and self.account in world.accounts

    def apply(self, world: World) -> None:
        deployment = world.region(self.region).deployments(self.kind)[self.name]
        deployment.members[self.account] = Outcome(self.status, self.error_code, self.error_message)

    def drive(self, sim: ConfigSimulator) -> None:
        sim.region(self.region).set_member_status(
            self.kind, self.name, self.account, self.status, self.error_code, self.error_message
        )


@dataclass(frozen=True)
class SetOrgStatus:
    """Pin the organization-level status (seen stuck in the field); status None derives it again."""

    region: str
    kind: DeployKind
    name: str
    status: str | None
    error_code: str | None = None

    def valid(self, world: World) -> bool:
        return self.name in world.region(self.region).deployments(self.kind)

    def apply(self, world: World) -> None:
        deployment = world.region(self.region).deployments(self.kind)[self.name]
        deployment.override = None if self.status is None else Outcome(self.status, self.error_code)

    def drive(self, sim: ConfigSimulator) -> None:
        sim.region(self.region).set_org_status(self.kind, self.name, self.status, self.error_code)


@dataclass(frozen=True)
class BeginDelete:
    region: str
    kind: DeployKind
    name: str
    status: str = "DELETE_IN_PROGRESS"
    error_code: str | None = None
    error_message: str | None = None

    def valid(self, world: World) -> bool:
        return self.name in world.region(self.region).deployments(self.kind)

    def apply(self, world: World) -> None:
        deployment = world.region(self.region).deployments(self.kind)[self.name]
        deployment.operation = "DELETE"
        outcome = Outcome(self.status, self.error_code, self.error_message)
        deployment.members = dict.fromkeys(deployment.members, outcome)

    def drive(self, sim: ConfigSimulator) -> None:
        sim.region(self.region).begin_org_delete(
            self.kind, self.name, self.status, self.error_code, self.error_message
        )


@dataclass(frozen=True)
class DeleteOrg:
    region: str
    kind: DeployKind
    name: str

    def valid(self, world: World) -> bool:
        return self.name in world.region(self.region).deployments(self.kind)

    def apply(self, world: World) -> None:
        del world.region(self.region).deployments(self.kind)[self.name]

    def drive(self, sim: ConfigSimulator) -> None:
        region = sim.region(self.region)
        (region.delete_org_rule if self.kind == "rule" else region.delete_org_pack)(self.name)


@dataclass(frozen=True)
class PutAccountPack:
    region: str
    name: str
    state: str
    reason: str | None = None

    def valid(self, world: World) -> bool:
        return True

    def apply(self, world: World) -> None:
        world.region(self.region).account_packs[self.name] = Outcome(self.state, None, self.reason)

    def drive(self, sim: ConfigSimulator) -> None:
        sim.region(self.region).put_account_pack(self.name, state=self.state, reason=self.reason)


@dataclass(frozen=True)
class DeleteAccountPack:
    region: str
    name: str

    def valid(self, world: World) -> bool:
        return self.name in world.region(self.region).account_packs

    def apply(self, world: World) -> None:
        del world.region(self.region).account_packs[self.name]

    def drive(self, sim: ConfigSimulator) -> None:
        sim.region(self.region).delete_account_pack(self.name)


Event = (
    AddAccounts
    | RemoveAccount
    | PutOrg
    | SetMember
    | SetOrgStatus
    | BeginDelete
    | DeleteOrg
    | PutAccountPack
    | DeleteAccountPack
)


def truths(ticks: Iterable[Iterable[Event]]) -> list[Truth]:
    """The state of every entity at each tick boundary, from the script alone."""
    world = World()
    states: list[Truth] = []
    for events in ticks:
        for event in events:
            event.apply(world)
        states.append(world.observe())
    return states
