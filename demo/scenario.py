"""The story the demo tells: an organization, and what happens to it between schedule ticks.

Each tick changes the simulated organization the way AWS Config would report it, then the demo
runs the notifier once. Only the simulator's scripting API is used; the notifier reads it over
the real AWS Config wire protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sandbox.config_sim import ConfigSimulator

REGIONS = ("us-east-1", "eu-west-1")
HOME = REGIONS[0]
RULES = ("required-tags", "s3-bucket-ssl-requests-only")
UPDATED_RULE = RULES[0]
OLD_PACK = "operational-best-practices-v1"
NEW_PACK = "security-baseline"
ACCOUNT_PACK = "local-guardrails"
MIN_ACCOUNTS = 6  # room for four distinct failing accounts and healthy ones around them
_STACK = "awsconfigconforms-security-baseline-4ktd2xqz"


@dataclass(frozen=True)
class Failure:
    """One member account where the new pack fails, with what Config says about it."""

    region: str
    account_id: str
    error_code: str
    error_message: str


@dataclass(frozen=True)
class Organization:
    accounts: tuple[str, ...]  # the members from the start, sorted
    newcomer: str  # joins in the last tick
    failures: tuple[Failure, ...]  # where NEW_PACK fails until the fix
    names: Mapping[str, str]  # every account's name in AWS Organizations, the newcomer's too

    def failing(self, region: str) -> dict[str, Failure]:
        return {f.account_id: f for f in self.failures if f.region == region}


_TEAMS = (
    "payments",
    "identity",
    "data-lake",
    "checkout",
    "search",
    "billing",
    "logistics",
    "analytics",
    "mobile-api",
    "web-frontend",
    "security-tooling",
    "shared-network",
)
_STAGES = ("prod", "staging", "dev")


def account_names(count: int) -> list[str]:
    """`count` account names as an organization would have them: team and stage."""
    names = [f"{team}-{stage}" for stage in _STAGES for team in _TEAMS]
    names += [f"sandbox-{i:03d}" for i in range(1, count - len(names) + 1)]
    return names[:count]


def organization(named: Mapping[str, str]) -> Organization:
    """The member accounts (all of `named` but the last), the newcomer, and where the rollout fails.

    `named` is id -> name in creation order, as AWS Organizations (moto, which chooses the ids)
    created them; the last one joins the organization in the last tick.
    """
    *members, newcomer = named
    size = len(members)
    if size < MIN_ACCOUNTS:
        raise ValueError(f"the scenario needs at least {MIN_ACCOUNTS} accounts, not {size}")
    accounts = tuple(sorted(members))
    us = [accounts[size // 8], accounts[size // 2], accounts[size - 2]]
    eu = accounts[size // 3]
    failures = (
        Failure(
            HOME,
            us[0],
            "ConformancePackCreationFailed",
            f"The stack {_STACK} is in CREATE_FAILED state: s3:PutBucketPolicy is denied by a "
            "service control policy (HandlerErrorCode: AccessDenied)",
        ),
        Failure(
            HOME,
            us[1],
            "NoAvailableConfigurationRecorderException",
            f"No configuration recorder is available in account {us[1]} in {HOME}.",
        ),
        Failure(
            HOME,
            us[2],
            "ConformancePackCreationFailed",
            f"The stack {_STACK} is in CREATE_FAILED state: The following resource(s) failed to "
            "create: [RestrictedIncomingTraffic].",
        ),
        Failure(
            REGIONS[1],
            eu,
            "MaxNumberOfConformancePacksExceededException",
            f"Account {eu} already has 50 conformance packs in {REGIONS[1]}, the most allowed.",
        ),
    )
    return Organization(accounts=accounts, newcomer=newcomer, failures=failures, names=dict(named))


Script = Callable[[ConfigSimulator, Organization], None]


@dataclass(frozen=True)
class Tick:
    title: str
    change: str  # what happened in the organization since the previous tick, in one line
    lesson: str  # what this tick shows about the notifier, for the summary
    script: Script
    minutes_later: int = 5  # since the previous tick: one schedule period, unless time jumps


def _baseline(sim: ConfigSimulator, org: Organization) -> None:
    sim.add_accounts(org.accounts)
    for name in REGIONS:
        region = sim.region(name)
        for rule in RULES:
            region.put_org_rule(rule)
        region.put_org_pack(OLD_PACK)
    sim.region(HOME).put_account_pack(ACCOUNT_PACK, state="CREATE_COMPLETE")


def _nothing(sim: ConfigSimulator, org: Organization) -> None:
    return None


def _rollout_starts(sim: ConfigSimulator, org: Organization) -> None:
    for name in REGIONS:
        sim.region(name).put_org_pack(NEW_PACK, status="CREATE_IN_PROGRESS")


def _rollout_ends(sim: ConfigSimulator, org: Organization) -> None:
    for name in REGIONS:
        region, failing = sim.region(name), org.failing(name)
        for account in org.accounts:
            failure = failing.get(account)
            if failure is None:
                region.set_member_status("pack", NEW_PACK, account, "CREATE_SUCCESSFUL")
            else:
                region.set_member_status(
                    "pack",
                    NEW_PACK,
                    account,
                    "CREATE_FAILED",
                    failure.error_code,
                    failure.error_message,
                )


def _rule_update_starts(sim: ConfigSimulator, org: Organization) -> None:
    sim.region(HOME).put_org_rule(UPDATED_RULE, status="UPDATE_IN_PROGRESS")


def _rule_update_ends(sim: ConfigSimulator, org: Organization) -> None:
    sim.region(HOME).put_org_rule(UPDATED_RULE, status="UPDATE_SUCCESSFUL")
    # As seen in the field: the organization-level status stays in progress after every account.
    sim.region(HOME).set_org_status("rule", UPDATED_RULE, "UPDATE_IN_PROGRESS")


def _hours_pass(sim: ConfigSimulator, org: Organization) -> None:
    return None


def _fix(sim: ConfigSimulator, org: Organization) -> None:
    sim.region(HOME).set_org_status("rule", UPDATED_RULE, None)  # Config catches up
    for failure in org.failures:
        sim.region(failure.region).set_member_status(
            "pack", NEW_PACK, failure.account_id, "CREATE_SUCCESSFUL"
        )


def _old_pack_deleted(sim: ConfigSimulator, org: Organization) -> None:
    for name in REGIONS:
        sim.region(name).delete_org_pack(OLD_PACK)


def _account_joins(sim: ConfigSimulator, org: Organization) -> None:
    sim.add_accounts([org.newcomer])
    for name in REGIONS:
        region = sim.region(name)
        for rule in RULES:
            region.set_member_status("rule", rule, org.newcomer, "CREATE_IN_PROGRESS")
        region.set_member_status("pack", NEW_PACK, org.newcomer, "CREATE_IN_PROGRESS")


def after_the_last_tick(sim: ConfigSimulator, org: Organization) -> str:
    """A change no tick has seen yet, for the operator CLI to find; what happened, in one line."""
    region = REGIONS[1]
    sim.region(region).set_member_status(
        "rule",
        UPDATED_RULE,
        org.newcomer,
        "CREATE_FAILED",
        "NoAvailableConfigurationRecorderException",
        f"No configuration recorder is available in account {org.newcomer} in {region}.",
    )
    return (
        f"{UPDATED_RULE} fails in the new account {org.newcomer} in {region} (its Config "
        "recorder was turned off), and no tick has run since."
    )


def ticks(org: Organization) -> list[Tick]:
    """The scenario, one schedule tick after another."""
    n = len(org.accounts)
    us, eu = org.failing(HOME), org.failing(REGIONS[1])
    return [
        Tick(
            "First run: the baseline",
            f"An organization of {n} member accounts: org rules {', '.join(RULES)} and org pack "
            f"{OLD_PACK} deployed in {' and '.join(REGIONS)}; the management account's own "
            f"pack {ACCOUNT_PACK} in {HOME}.",
            "A first run records what exists and says so in one summary per region, "
            "not one message per rule, pack and account.",
            _baseline,
        ),
        Tick(
            "Nothing changed",
            "Nothing changed in the organization since the last tick.",
            "Nothing changed, nothing sent: the snapshot in DynamoDB matches what Config reports.",
            _nothing,
        ),
        Tick(
            f"Rollout of {NEW_PACK} starts",
            f"The platform team deploys the org conformance pack {NEW_PACK} to all {n} accounts "
            f"in both regions: CREATE_IN_PROGRESS everywhere.",
            f"One message for the pack in both regions counts every account that moved "
            f"({n} in each), instead of {2 * n} messages.",
            _rollout_starts,
        ),
        Tick(
            f"Rollout ends: {NEW_PACK} fails in {len(org.failures)} accounts",
            f"Config finishes: {NEW_PACK} fails in {len(us)} accounts in {HOME} (SCP deny, no "
            f"recorder, a failed nested stack) and {len(eu)} in {REGIONS[1]} (pack limit); "
            f"it succeeds in the others.",
            "Failures come first, each with its account and the error Config gave; the "
            "failures-only email subscriber gets these.",
            _rollout_ends,
        ),
        Tick(
            f"Org rule {UPDATED_RULE} updated",
            f"The platform team updates the org rule {UPDATED_RULE} in {HOME}: "
            "UPDATE_IN_PROGRESS in every account.",
            "An update in progress is progress: the filtered email stays quiet, the "
            "unfiltered subscribers see it.",
            _rule_update_starts,
        ),
        Tick(
            f"Org rule {UPDATED_RULE} update done in every account",
            f"The update of {UPDATED_RULE} in {HOME} finishes: UPDATE_SUCCESSFUL in every "
            "account, but its organization-level status stays UPDATE_IN_PROGRESS; "
            f"{NEW_PACK} is still failing, unchanged.",
            "A failure that has not changed is not sent again; the finished accounts are.",
            _rule_update_ends,
        ),
        Tick(
            "Two hours later",
            f"Nothing moved for two hours: the organization-level status of {UPDATED_RULE} in "
            f"{HOME} is still UPDATE_IN_PROGRESS although every account finished.",
            "In progress past stuckAfterMinutes (2 h): reported once as stuck, saying that "
            "every account finished, with the member summary; not again until it moves.",
            _hours_pass,
            minutes_later=120,
        ),
        Tick(
            "The next morning",
            f"A day after the rollout failed, nobody has fixed {NEW_PACK} in the "
            f"{len(org.failures)} accounts, and {UPDATED_RULE} is still stuck. Nothing moved.",
            "What is still broken a day after people were told is reminded in one digest (once "
            "a day, reminderHours), each deployment with its accounts and for how long; the "
            "security team's route (its Teams channel and email) gets the part that is theirs.",
            _hours_pass,
            minutes_later=22 * 60,
        ),
        Tick(
            f"Fix: {NEW_PACK} succeeds everywhere",
            f"The team lifts the SCP deny, starts the recorder, fixes the nested stack and frees "
            f"a pack slot; Config redeploys {NEW_PACK} to the {len(org.failures)} accounts: "
            f"CREATE_SUCCESSFUL. {UPDATED_RULE}'s organization-level status catches up.",
            "Recoveries are reported too, so people learn the fix worked; the stuck rule's "
            "move is an ordinary transition.",
            _fix,
        ),
        Tick(
            f"{OLD_PACK} deleted",
            f"The org conformance pack {OLD_PACK}, replaced by {NEW_PACK}, is deleted in both "
            "regions.",
            "A deleted pack is reported once as removed, in one message for both regions, and "
            "leaves the snapshot.",
            _old_pack_deleted,
        ),
        Tick(
            "A new account joins",
            f"Account {org.newcomer} joins the organization; Config starts deploying the org "
            f"rules and {NEW_PACK} to it in both regions.",
            "One message tells the new account, in progress, in every rule and pack of both "
            "regions, instead of one per rule, pack and region (the notifier reads only members "
            "that are not healthy, and one being deployed is not healthy yet).",
            _account_joins,
        ),
    ]
