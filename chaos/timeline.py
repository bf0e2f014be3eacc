"""A chaos run's script: what happens to the organization at each schedule tick, and what is broken.

Seeded, so a run can be repeated. The organization: a few dozen accounts, two regions, several
organization packs and rules and this account's own packs. Stories play out over several ticks
(a pack rolled out, failing in some accounts with real error codes, then fixed; an update; a
deletion; accounts joining and leaving; an organization status stuck in progress; an account pack
failing and recovering), each holding its rule or pack until it ends so that stories stay
realistic. Fault windows come between, each kind in turn, with fault-free ticks after every window
and at the end, so that the scorer can demand the truth after a fault-free tick.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from chaos.world import (
    DEPLOY_KINDS,
    AddAccounts,
    BeginDelete,
    DeleteAccountPack,
    DeleteOrg,
    DeployKind,
    Event,
    PutAccountPack,
    PutOrg,
    RemoveAccount,
    SetMember,
    SetOrgStatus,
    World,
)
from sandbox.config_sim import FaultRule
from sandbox.fault_proxy import ProxyFault

REGIONS = ("us-east-1", "eu-west-1")
INITIAL_ACCOUNTS = tuple(str(200_000_000_000 + i) for i in range(30))
SETTLE_TICKS = 5  # fault-free ticks at the end: the final state must match exactly
FOREVER = 1 << 30  # a rule, pack or account pack no story may touch again

PACK_DETAIL = "GetOrganizationConformancePackDetailedStatus"
RULE_DETAIL = "GetOrganizationConfigRuleDetailedStatus"
LISTINGS = (
    "DescribeOrganizationConfigRuleStatuses",
    "DescribeOrganizationConformancePackStatuses",
    "DescribeConformancePackStatus",
    PACK_DETAIL,
    RULE_DETAIL,
)

# Error codes and messages as AWS Config reports member-account failures.
MEMBER_ERRORS = (
    (
        "NoAvailableConfigurationRecorderException",
        "Failed to put rule because there is no configuration recorder in account {account}.",
    ),
    (
        "InsufficientPermissionsException",
        "AWSServiceRoleForConfigConforms lacks permission s3:GetBucketPolicy in {account}.",
    ),
    (
        "MaxNumberOfConformancePacksExceededException",
        "Account {account} already has the maximum number of conformance packs (50).",
    ),
    (
        "MaxNumberOfConfigRulesExceededException",
        "Account {account} already has the maximum number of AWS Config rules (400).",
    ),
    ("ResourceInUseException", "The rule is being deleted or updated in account {account}."),
    (
        "ValidationError",
        "Template error: unresolved dependency S3BucketPolicy in account {account}.",
    ),
)
ACCOUNT_PACK_REASONS = (
    "Stack awsconfigconforms-local failed: CREATE_FAILED S3BucketPolicy (Access Denied)",
    "Template validation failed: Parameter MaxAccessKeyAge must be a number",
    "The configuration recorder is not running in this region",
)
UNKNOWN_STATUSES = ("ROLLBACK_PAUSED", "UPDATE_QUEUED")

Mode = Literal["in-process", "kill", "overlap"]


@dataclass(frozen=True)
class FaultKind:
    """What one kind of fault does to a tick."""

    clean: bool = False  # the tick still counts as fault-free (the fault is legal behaviour)
    repeats: bool = False  # it can make the notifier repeat a delivery (at least once)
    mode: Mode = "in-process"
    # What must happen that tick for it to bite: changes to publish; several account packs at
    # once (a PublishBatch); or a flap, a change that reverts at the next tick (the case where a
    # delivered but uncommitted transition matters most).
    needs: Literal["", "changes", "batch", "flap"] = ""


FAULT_KINDS: dict[str, FaultKind] = {
    "config-throttle-region": FaultKind(),
    "config-throttle-detail": FaultKind(),  # its Fault names the region and kind that must move
    "config-throttle-some": FaultKind(),
    "config-access-denied": FaultKind(),
    "config-token-loop": FaultKind(),
    "config-empty-pages": FaultKind(clean=True),
    # An error answer from SNS (5xx, or a throttle after 5xx retries) may follow a publish SNS
    # took: the notifier keeps the message in its outbox, so a later run may repeat it. The run
    # publishes its messages together (one per cause), so a tick's single message goes by Publish
    # and several by PublishBatch: these faults take whichever the run makes.
    "sns-publish-error": FaultKind(repeats=True, needs="changes"),
    "sns-batch-error": FaultKind(repeats=True, needs="batch"),
    # A message is one publish per topic: SNS may take its text and refuse its JSON document,
    # and then the whole message goes again, so the topics that took it carry it twice.
    "sns-batch-partial": FaultKind(repeats=True, needs="batch"),
    "sns-publish-lost-answer": FaultKind(repeats=True, needs="changes"),
    "dynamodb-read-error": FaultKind(),
    "dynamodb-write-error": FaultKind(repeats=True, needs="flap"),
    "dynamodb-conflict": FaultKind(repeats=True, needs="changes"),
    "dynamodb-lost-answer": FaultKind(repeats=True, needs="changes"),
    "kill": FaultKind(repeats=True, mode="kill", needs="changes"),
    "overlap": FaultKind(repeats=True, mode="overlap", needs="changes"),
}


@dataclass(frozen=True)
class Fault:
    """One fault active during a tick's run: rules for the Config simulator and the proxy."""

    kind: str
    sim: tuple[FaultRule, ...] = ()
    proxy: tuple[ProxyFault, ...] = ()
    kill_after: tuple[str, float] | None = None  # kill mode: ("delay", s) / ("publish"|"write", n)
    focus: tuple[str, DeployKind] | None = None  # the region and kind whose members must move

    @property
    def info(self) -> FaultKind:
        return FAULT_KINDS[self.kind]


@dataclass(frozen=True)
class Tick:
    index: int
    events: tuple[Event, ...]
    faults: tuple[Fault, ...] = ()

    @property
    def mode(self) -> Mode:
        modes = [f.info.mode for f in self.faults if f.info.mode != "in-process"]
        return modes[0] if modes else "in-process"

    @property
    def clean(self) -> bool:
        return all(f.info.clean for f in self.faults)

    @property
    def repeats(self) -> bool:
        return any(f.info.repeats for f in self.faults)


@dataclass(frozen=True)
class Timeline:
    seed: int
    regions: tuple[str, ...]
    ticks: tuple[Tick, ...]


def build(
    ticks: int, seed: int, regions: Sequence[str] = REGIONS, *, quick: bool = False
) -> Timeline:
    """A timeline of `ticks` schedule ticks, every fault kind at least once when ticks allow.

    quick: SNS and DynamoDB fail with transient errors only (InternalError, InternalServerError),
    never with throttling ones, which make botocore's adaptive retry mode slow the client down
    for many seconds (a cost in time, not a different path through the notifier).
    """
    rng = random.Random(seed)  # noqa: S311 - a repeatable script, not security
    plan = plan_faults(ticks, rng, tuple(regions), quick=quick)
    script = _Script(rng, tuple(regions))
    out = []
    for index in range(ticks):
        faults = plan.get(index, ())
        needs = {f.info.needs for f in faults}
        focus = next((f.focus for f in faults if f.focus is not None), None)
        events = script.tick(
            index,
            changes=bool(needs & {"changes", "flap"}),
            batch="batch" in needs,
            flap="flap" in needs,
            focus=focus,
        )
        out.append(Tick(index, tuple(events), faults))
    return Timeline(seed, tuple(regions), tuple(out))


def plan_faults(
    ticks: int, rng: random.Random, regions: tuple[str, ...], *, quick: bool = False
) -> dict[int, tuple[Fault, ...]]:
    """Fault windows, every kind in turn (shuffled per round), fault-free ticks between."""
    small = ticks < 120
    plan: dict[int, tuple[Fault, ...]] = {}
    tick, last = 3, ticks - SETTLE_TICKS
    while True:
        kinds = list(FAULT_KINDS)
        rng.shuffle(kinds)
        for kind in kinds:
            length = 1 if small or FAULT_KINDS[kind].mode != "in-process" else rng.randint(1, 3)
            if kind == "config-access-denied" and not small:
                length = rng.randint(3, 6)
            if tick + length > last:
                return plan
            extra = not small and FAULT_KINDS[kind].mode == "in-process" and rng.random() < 0.2
            for t in range(tick, tick + length):
                faults = [make_fault(kind, rng, regions, quick=quick)]
                if extra:
                    other = rng.choice(
                        [k for k, v in FAULT_KINDS.items() if v.mode == "in-process"]
                    )
                    if other != kind:
                        faults.append(make_fault(other, rng, regions, quick=quick))
                plan[t] = tuple(faults)
            tick += length + (1 if small else rng.randint(2, 4))


def make_fault(
    kind: str, rng: random.Random, regions: tuple[str, ...], *, quick: bool = False
) -> Fault:
    """The rules of one fault kind, with its region, operation or error drawn from `rng`."""
    region = rng.choice(regions)
    deploy_kind: DeployKind = rng.choice(DEPLOY_KINDS)
    sns_error = "InternalError" if quick else rng.choice(("InternalError", "Throttled"))
    write_error = (
        "InternalServerError"
        if quick
        else rng.choice(("ProvisionedThroughputExceededException", "InternalServerError"))
    )
    builders: dict[str, Callable[[], Fault]] = {
        "config-throttle-region": lambda: Fault(kind, sim=(FaultRule(region, throttle_rate=1.0),)),
        "config-throttle-detail": lambda: Fault(
            kind,
            sim=(
                FaultRule(
                    region, PACK_DETAIL if deploy_kind == "pack" else RULE_DETAIL, throttle_rate=1.0
                ),
            ),
            focus=(region, deploy_kind),
        ),
        "config-throttle-some": lambda: Fault(kind, sim=(FaultRule(throttle_rate=0.4),)),
        "config-access-denied": lambda: Fault(kind, sim=(FaultRule(region, access_denied=True),)),
        "config-token-loop": lambda: Fault(
            kind, sim=(FaultRule(operation=rng.choice(LISTINGS), token_loop=True),)
        ),
        "config-empty-pages": lambda: Fault(kind, sim=(FaultRule(empty_pages=2),)),
        "sns-publish-error": lambda: Fault(
            kind,
            proxy=tuple(ProxyFault("sns", call, sns_error) for call in ("Publish", "PublishBatch")),
        ),
        "sns-batch-error": lambda: Fault(
            kind, proxy=(ProxyFault("sns", "PublishBatch", sns_error),)
        ),
        "sns-batch-partial": lambda: Fault(
            kind, proxy=(ProxyFault("sns", "PublishBatch", "InternalError", entries=0.5),)
        ),
        "sns-publish-lost-answer": lambda: Fault(
            kind,
            proxy=tuple(
                ProxyFault("sns", call, "InternalError", count=1, applied=True)
                for call in ("Publish", "PublishBatch")
            ),
        ),
        "dynamodb-read-error": lambda: Fault(
            kind, proxy=(ProxyFault("dynamodb", "Query", "InternalServerError", rate=0.5),)
        ),
        "dynamodb-write-error": lambda: Fault(
            kind,
            proxy=(
                ProxyFault("dynamodb", "PutItem", write_error),
                ProxyFault("dynamodb", "DeleteItem", "InternalServerError"),
            ),
        ),
        "dynamodb-conflict": lambda: Fault(
            kind,
            proxy=(
                ProxyFault("dynamodb", "PutItem", "ConditionalCheckFailedException", rate=0.5),
                ProxyFault("dynamodb", "DeleteItem", "ConditionalCheckFailedException", rate=0.5),
            ),
        ),
        "dynamodb-lost-answer": lambda: Fault(
            kind,
            proxy=(
                ProxyFault("dynamodb", "PutItem", "InternalServerError", count=2, applied=True),
            ),
        ),
        "kill": lambda: Fault(
            kind,
            # Slow enough that a kill lands mid-run, and between a publish and its commit.
            sim=(FaultRule(latency_ms=40),),
            proxy=(
                ProxyFault("dynamodb", "PutItem", latency_ms=60),
                ProxyFault("dynamodb", "DeleteItem", latency_ms=60),
                ProxyFault("sns", latency_ms=30),
            ),
            # Mostly right after a publish or a write (the windows that matter), sometimes at
            # any point of the run.
            kill_after=rng.choices(
                (
                    ("delay", round(rng.uniform(0.1, 0.5), 2)),
                    ("publish", float(rng.randint(1, 2))),
                    ("write", float(rng.randint(1, 3))),
                ),
                (1, 2, 2),
            )[0],
        ),
        "overlap": lambda: Fault(kind, sim=(FaultRule(latency_ms=20),)),
    }
    return builders[kind]()


@dataclass
class _Script:
    """Writes the organization's story tick by tick, keeping every event valid."""

    rng: random.Random
    regions: tuple[str, ...]
    world: World = field(default_factory=World)
    agenda: dict[int, list[Event]] = field(default_factory=lambda: defaultdict(list))
    busy: dict[tuple[str, str, str], int] = field(default_factory=dict)  # held until tick
    pinned: set[str] = field(default_factory=set)  # accounts that must not leave
    serial: int = 0

    def tick(
        self,
        index: int,
        *,
        changes: bool = False,
        batch: bool = False,
        flap: bool = False,
        focus: tuple[str, DeployKind] | None = None,
    ) -> list[Event]:
        if index == 0:
            self._initial()
        else:
            for region in self.regions:
                if focus is not None and focus[0] == region:
                    if not self._update(index, region, focus[1]):
                        self._rollout(index, region, focus[1])
                elif changes or self.rng.random() < 0.55:
                    self._story(index, region, forced=changes)
            if batch:
                self._account_pack_burst(index, self.rng.choice(self.regions))
            if flap:
                self._flap(index, self.rng.choice(self.regions))
        events: list[Event] = []
        for event in self.agenda.pop(index, []):
            if event.valid(self.world):
                event.apply(self.world)
                events.append(event)
        return events

    # Stories ----------------------------------------------------------------------------------

    def _initial(self) -> None:
        self.at(0, AddAccounts(INITIAL_ACCOUNTS))
        for region in self.regions:
            for name in ("ops-baseline", "security-hub-controls", "s3-guardrails"):
                self.at(0, PutOrg(region, "pack", name, "CREATE_SUCCESSFUL"))
            for name in ("s3-bucket-encryption", "iam-password-policy"):
                self.at(0, PutOrg(region, "rule", name, "CREATE_SUCCESSFUL"))
            for name in ("local-guardrails", "cost-tags"):
                self.at(0, PutAccountPack(region, name, "CREATE_COMPLETE"))
        # Failing before the notifier ever ran: part of the baseline, fixed a few ticks later.
        region = self.regions[0]
        for account in INITIAL_ACCOUNTS[3:5]:
            code, message = self._error(account)
            self.at(
                0,
                SetMember(region, "pack", "s3-guardrails", account, "CREATE_FAILED", code, message),
            )
            self.at(5, SetMember(region, "pack", "s3-guardrails", account, "CREATE_SUCCESSFUL"))
        self.busy[(region, "pack", "s3-guardrails")] = 5

    def _story(self, tick: int, region: str, *, forced: bool) -> None:
        stories: list[tuple[float, Callable[[int, str], bool]]] = [
            (3.0, self._rollout),
            (3.0, self._update),
            (1.0, self._delete),
            (1.0, self._join),
            (0.8, self._leave),
            (0.8, self._stuck),
            (2.0, self._account_pack),
        ]
        if forced:
            stories = stories[:2]  # something with many member accounts moving
        for _ in range(5):
            story = self.rng.choices([s for _, s in stories], [w for w, _ in stories])[0]
            if story(tick, region):
                return

    def _rollout(self, tick: int, region: str, only: DeployKind | None = None) -> bool:
        """A new rule or pack: in progress everywhere, done in batches, failing in a few."""
        kind: DeployKind = only if only is not None else self.rng.choice(DEPLOY_KINDS)
        if len(self.world.region(region).deployments(kind)) >= 6:
            return False
        self.serial += 1
        name = f"{'pack' if kind == 'pack' else 'rule'}-{self.serial:03d}"
        self.at(tick, PutOrg(region, kind, name, "CREATE_IN_PROGRESS"))
        self._progress(tick, region, kind, name, "CREATE")
        return True

    def _update(self, tick: int, region: str, only: DeployKind | None = None) -> bool:
        """An existing rule or pack re-deployed: in progress, done, failing in a few, fixed."""
        kind: DeployKind = only if only is not None else self.rng.choice(DEPLOY_KINDS)
        name = self._idle(tick, region, kind)
        if name is None:
            return False
        self.at(tick, PutOrg(region, kind, name, "UPDATE_IN_PROGRESS"))
        self._progress(tick, region, kind, name, "UPDATE")
        return True

    def _progress(self, tick: int, region: str, kind: DeployKind, name: str, op: str) -> None:
        accounts = sorted(self.world.accounts)
        self.rng.shuffle(accounts)
        failing = accounts[: self.rng.choice((0, 0, 1, 2, 3))]
        done = tick + self.rng.randint(1, 3)
        for account in accounts[len(failing) :]:
            self.at(
                self.rng.randint(tick + 1, done),
                SetMember(region, kind, name, account, f"{op}_SUCCESSFUL"),
            )
        end = done
        for account in failing:
            code, message = self._error(account)
            when = self.rng.randint(tick + 1, done)
            self.at(when, SetMember(region, kind, name, account, f"{op}_FAILED", code, message))
            if self.rng.random() < 0.3:
                # The same failure, a different error code: a transition too.
                other, text = self._error(account)
                if other != code:
                    self.at(
                        done + 1,
                        SetMember(region, kind, name, account, f"{op}_FAILED", other, text),
                    )
            if self.rng.random() < 0.15:
                self.at(
                    done + 1,
                    SetMember(region, kind, name, account, self.rng.choice(UNKNOWN_STATUSES)),
                )
            fixed = done + self.rng.randint(2, 10)
            self.at(fixed, SetMember(region, kind, name, account, f"{op}_SUCCESSFUL"))
            end = max(end, fixed)
        self.busy[(region, kind, name)] = end

    def _delete(self, tick: int, region: str) -> bool:
        kind: DeployKind = self.rng.choice(("pack", "rule"))
        if len(self.world.region(region).deployments(kind)) <= 2:
            return False
        name = self._idle(tick, region, kind)
        if name is None:
            return False
        self.at(tick, BeginDelete(region, kind, name))
        gone = tick + self.rng.randint(1, 3)
        if self.rng.random() < 0.3 and gone > tick + 1:
            account = self.rng.choice(sorted(self.world.accounts))
            code, message = self._error(account)
            self.at(
                tick + 1, SetMember(region, kind, name, account, "DELETE_FAILED", code, message)
            )
        self.at(gone, DeleteOrg(region, kind, name))
        self.busy[(region, kind, name)] = gone
        return True

    def _join(self, tick: int, region: str) -> bool:
        """An account joins; the organization's rules and packs reach it a tick or two later."""
        if len(self.world.accounts) >= 40:
            return False
        self.serial += 1
        account = str(300_000_000_000 + self.serial)
        self.at(tick, AddAccounts((account,)))
        start = tick + self.rng.randint(1, 2)
        for name_region in self.regions:
            data = self.world.region(name_region)
            for kind in DEPLOY_KINDS:
                for name in list(data.deployments(kind)):
                    self.at(
                        start, SetMember(name_region, kind, name, account, "CREATE_IN_PROGRESS")
                    )
                    self.at(
                        start + 1, SetMember(name_region, kind, name, account, "CREATE_SUCCESSFUL")
                    )
        return True

    def _leave(self, tick: int, region: str) -> bool:
        if len(self.world.accounts) <= 25:
            return False
        leaving = sorted(self.world.accounts - self.pinned)
        self.at(tick, RemoveAccount(self.rng.choice(leaving)))
        return True

    def _flap(self, tick: int, region: str) -> None:
        """A member account and an account pack fail and are back as they were a tick later;
        both are left alone afterwards, so whatever the subscriber was told last stays visible."""
        kind: DeployKind = self.rng.choice(("pack", "rule"))
        name = self._idle(tick, region, kind)
        if name is not None:
            account = self.rng.choice(sorted(self.world.accounts - self.pinned))
            before = self.world.region(region).deployments(kind)[name].members.get(account)
            if before is not None:
                code, message = self._error(account)
                self.at(
                    tick, SetMember(region, kind, name, account, "UPDATE_FAILED", code, message)
                )
                self.at(
                    tick + 1,
                    SetMember(
                        region,
                        kind,
                        name,
                        account,
                        before.status,
                        before.error_code,
                        before.error_message,
                    ),
                )
                self.busy[(region, kind, name)] = FOREVER
                self.pinned.add(account)
        packs = self.world.region(region).account_packs
        idle = [n for n in sorted(packs) if self.busy.get((region, "account-pack", n), -1) < tick]
        if idle:
            pack = self.rng.choice(idle)
            self.at(tick, PutAccountPack(region, pack, "CREATE_FAILED", ACCOUNT_PACK_REASONS[0]))
            self.at(
                tick + 1,
                PutAccountPack(region, pack, packs[pack].status, packs[pack].error_message),
            )
            self.busy[(region, "account-pack", pack)] = FOREVER

    def _stuck(self, tick: int, region: str) -> bool:
        """The organization-level status stuck in progress though every member is done."""
        kind: DeployKind = self.rng.choice(("pack", "rule"))
        name = self._idle(tick, region, kind)
        if name is None:
            return False
        op = "UPDATE" if self.rng.random() < 0.5 else "CREATE"
        self.at(tick, SetOrgStatus(region, kind, name, f"{op}_IN_PROGRESS"))
        until = tick + self.rng.randint(2, 5)
        self.at(until, SetOrgStatus(region, kind, name, None))
        self.busy[(region, kind, name)] = until
        return True

    def _account_pack(self, tick: int, region: str) -> bool:
        """This account's own pack: created, failing and recovering, or deleted."""
        packs = self.world.region(region).account_packs
        idle = [n for n in sorted(packs) if self.busy.get((region, "account-pack", n), -1) < tick]
        choice = self.rng.random()
        if choice < 0.25 or not idle:
            if len(packs) >= 5:
                return False
            self.serial += 1
            name = f"local-{self.serial:03d}"
            self.at(tick, PutAccountPack(region, name, "CREATE_IN_PROGRESS"))
            self.at(tick + 1, PutAccountPack(region, name, "CREATE_COMPLETE"))
            self.busy[(region, "account-pack", name)] = tick + 1
        elif choice < 0.4 and len(packs) > 2:
            name = self.rng.choice(idle)
            self.at(tick, PutAccountPack(region, name, "DELETE_IN_PROGRESS"))
            self.at(tick + 1, DeleteAccountPack(region, name))
            self.busy[(region, "account-pack", name)] = tick + 1
        else:
            self._fail_account_pack(tick, region, self.rng.choice(idle))
        return True

    def _fail_account_pack(self, tick: int, region: str, name: str) -> None:
        self.at(
            tick,
            PutAccountPack(region, name, "CREATE_FAILED", self.rng.choice(ACCOUNT_PACK_REASONS)),
        )
        fixed = tick + self.rng.randint(1, 6)
        self.at(fixed, PutAccountPack(region, name, "CREATE_COMPLETE"))
        self.busy[(region, "account-pack", name)] = fixed

    def _account_pack_burst(self, tick: int, region: str) -> None:
        """Several account packs change at once: they go out in one PublishBatch."""
        packs = self.world.region(region).account_packs
        idle = [n for n in sorted(packs) if self.busy.get((region, "account-pack", n), -1) < tick]
        for name in idle[:3]:
            self._fail_account_pack(tick, region, name)
        for _ in range(max(0, 2 - len(idle))):
            self.serial += 1
            name = f"local-{self.serial:03d}"
            self.at(tick, PutAccountPack(region, name, "CREATE_IN_PROGRESS"))
            self.at(tick + 1, PutAccountPack(region, name, "CREATE_COMPLETE"))
            self.busy[(region, "account-pack", name)] = tick + 1

    # Helpers ----------------------------------------------------------------------------------

    def at(self, tick: int, event: Event) -> None:
        self.agenda[tick].append(event)

    def _idle(self, tick: int, region: str, kind: DeployKind) -> str | None:
        names = [
            n
            for n in sorted(self.world.region(region).deployments(kind))
            if self.busy.get((region, kind, n), -1) < tick
        ]
        return self.rng.choice(names) if names else None

    def _error(self, account: str) -> tuple[str, str]:
        code, message = self.rng.choice(MEMBER_ERRORS)
        return code, message.format(account=account)
