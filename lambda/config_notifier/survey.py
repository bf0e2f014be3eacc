"""Phase one, the survey: every source of every region, and every region's snapshot, side by side.

A source that cannot be read completely is unknown this run, not empty (docs/design.md rule 1):
it gets no entry in its region's `current`, so nothing of it changes or disappears.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from config_notifier.errors import AdminUnreachable, SnapshotUnavailable, SourceUnreadable
from config_notifier.model import EntityId, Kind, Observation, Record, SourceFailure
from config_notifier.ports import AdminAccess, SnapshotPort
from config_notifier.read import CallCounter, read_account_packs, read_org_packs, read_org_rules
from config_notifier.report import RunReport
from config_notifier.stored import RegionSnapshot

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

Reader = Callable[["ConfigServiceClient", str, CallCounter, str], list[Observation]]
SOURCES: dict[Kind, Reader] = {
    Kind.ORG_RULE: read_org_rules,
    Kind.ORG_PACK: read_org_packs,
    Kind.ACCOUNT_PACK: read_account_packs,
}

RegionKey = tuple[str, str]  # (delegated administrator or "", region)
ConfigFor = Callable[[str, str], "ConfigServiceClient"]  # (region, admin) -> client


@dataclass(slots=True)
class Region:
    """What the survey learned about a region, as one account deployed to it: the management
    account (`admin` "") or a delegated administrator. Each is a region of its own: its snapshot
    partition, its outboxes, its baseline."""

    name: str
    admin: str = ""
    snapshot: RegionSnapshot | None = None  # None: it could not be loaded; the region waits
    current: dict[Kind, list[Observation]] = field(default_factory=dict)  # sources read completely
    unfinished: set[Kind] = field(default_factory=set)  # sources with a parent not committed

    @property
    def key(self) -> RegionKey:
        return self.admin, self.name

    @property
    def where(self) -> tuple[str, str]:
        """(region, admin): where its outboxes and events are kept."""
        return self.name, self.admin

    def in_baseline(self, kind: Kind) -> bool:
        return self.snapshot is not None and kind.value not in self.snapshot.baselined

    def previous(self, kind: Kind) -> dict[EntityId, Record]:
        records = self.snapshot.records if self.snapshot is not None else {}
        return {e: r for e, r in records.items() if e.kind is kind}

    def snapshot_failure(self, step: str, reason: str) -> SourceFailure:
        """The region's snapshot failed at `step`: what it would have recorded is redone."""
        return SourceFailure(self.name, "snapshot", f"{step}: {reason}", self.admin)


_T = TypeVar("_T")


class Tasks:
    """The run's tasks on an executor that may outlive it (a warm Lambda keeps its threads)."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._started: list[Future[Any]] = []

    def submit(self, fn: Callable[..., _T], /, *args: Any) -> Future[_T]:
        future = self._executor.submit(fn, *args)
        self._started.append(future)
        return future

    def wait(self) -> None:
        """Return once every task started has ended."""
        wait(self._started)


Reads = Mapping[tuple[RegionKey, Kind], Future[list[Observation]]]


def survey(
    pool: Tasks,
    regions: Mapping[RegionKey, Region],
    *,
    config_for: ConfigFor,
    snapshot: SnapshotPort,
    admins: Mapping[str, AdminAccess],
    calls: CallCounter,
    report: RunReport,
) -> Reads:
    """Read every source and load every snapshot; fill in `regions`.

    Returns the account packs' reads still in flight: theirs is the longest chain of pages, and
    the run plans the organization rules' and packs' work while it waits for them."""
    # A delegated administrator whose role cannot be assumed is unknown, not empty: none of its
    # regions is read or loaded, so nothing of it changes or disappears (rule 1).
    checks = {admin: pool.submit(access.check) for admin, access in admins.items()}
    unreachable: dict[str, str] = {}
    for admin, check in checks.items():
        try:
            check.result()
        except AdminUnreachable as exc:
            unreachable[admin] = exc.reason
    reachable = {key: r for key, r in regions.items() if r.admin not in unreachable}

    # Account packs first: their pages hold 20 items, not 100, so theirs is the longest chain of
    # pages and the one a run waits for. The snapshots next: DynamoDB answers long before Config
    # does, so they are parsed before the first wave of Config pages arrives, not alongside it.
    def start_read(key: RegionKey, kind: Kind) -> Future[list[Observation]]:
        r = reachable[key]
        return pool.submit(SOURCES[kind], config_for(r.name, r.admin), r.name, calls, r.admin)

    account_packs = {
        (key, Kind.ACCOUNT_PACK): start_read(key, Kind.ACCOUNT_PACK) for key in reachable
    }
    loads = {
        key: pool.submit(snapshot.load_region, r.name, r.admin) for key, r in reachable.items()
    }
    organization = {
        (key, kind): start_read(key, kind)
        for kind in (Kind.ORG_RULE, Kind.ORG_PACK)
        for key in reachable
    }
    for region in regions.values():
        if region.admin in unreachable:
            for kind in SOURCES:
                report.source_failed(
                    SourceFailure(region.name, kind.value, unreachable[region.admin], region.admin)
                )
    for key, future in loads.items():
        try:
            regions[key].snapshot = future.result()
        except SnapshotUnavailable as exc:
            reason = f"could not load the snapshot: {exc.reason}"
            report.source_failed(SourceFailure(key[1], "snapshot", reason, key[0]))
    collect(regions, organization, report)
    return account_packs


def collect(regions: Mapping[RegionKey, Region], reads: Reads, report: RunReport) -> None:
    """Each source read completely becomes its region's current view; the others are unknown."""
    for (key, kind), read in reads.items():
        try:
            regions[key].current[kind] = read.result()
        except SourceUnreadable as exc:
            report.source_failed(SourceFailure(key[1], kind.value, exc.reason, key[0]))
