"""The `regions` setting, checked against the regions botocore's endpoint data knows.

The function reaches each region through the pinned botocore, so its endpoint data is what the
function can rely on. A region newer than the pinned SDK is accepted only when it is also listed
in `unlistedRegions` (the documented escape, docs/synth-checks.md) and has the shape of its
partition's region names.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache

import botocore
from botocore.loaders import create_loader


@dataclass(frozen=True, slots=True)
class Partition:
    """One AWS partition as botocore's endpoints.json describes it."""

    name: str  # "aws", "aws-cn", "aws-us-gov", ...
    region_pattern: re.Pattern[str]
    regions: frozenset[str]


@cache
def partitions() -> tuple[Partition, ...]:
    """Every partition of the pinned botocore's endpoint data (read once)."""
    data = create_loader().load_data("endpoints")
    return tuple(
        Partition(p["partition"], re.compile(p["regionRegex"]), frozenset(p["regions"]))
        for p in data["partitions"]
    )


def known_regions() -> frozenset[str]:
    return frozenset(r for p in partitions() for r in p.regions)


def partition_of(region: str) -> Partition | None:
    """The partition that lists `region`, or else whose region names it has the shape of."""
    for partition in partitions():
        if region in partition.regions:
            return partition
    for partition in partitions():
        if partition.region_pattern.match(region):
            return partition
    return None


def check_regions(regions: tuple[str, ...], unlisted: tuple[str, ...]) -> list[str]:
    """What is wrong with `regions` (given `unlisted`, the escape), one line per problem."""
    problems = []
    for region in regions:
        partition = partition_of(region)
        if region in known_regions():
            continue
        if partition is None:
            problems.append(f"{region!r} is not a region name of any AWS partition{_hint(region)}")
        elif region not in unlisted:
            problems.append(
                f"{region!r} is not a region botocore {botocore.__version__} knows in the "
                f"{partition.name} partition{_hint(region)}; if it is a region newer than this "
                f'SDK, list it in "unlistedRegions" too'
            )
    named = {p.name for r in regions if (p := partition_of(r)) is not None}
    if len(named) > 1:
        problems.append(
            f"the regions are in different partitions ({', '.join(sorted(named))}); one "
            "notifier watches the regions of the partition it is deployed in"
        )
    return problems


def check_unlisted(unlisted: tuple[str, ...], regions: tuple[str, ...]) -> list[str]:
    """What is wrong with `unlistedRegions` itself: each must be watched and region-shaped."""
    problems = []
    for region in unlisted:
        if region not in regions:
            problems.append(f'{region!r} is not in "regions" (list it there to watch it)')
        elif partition_of(region) is None:
            problems.append(f"{region!r} does not have the shape of any partition's region names")
    return problems


def longest_region_name() -> int:
    return max(len(r) for r in known_regions())


def longest_partition_name() -> int:
    return max(len(p.name) for p in partitions())


def _hint(region: str) -> str:
    close = difflib.get_close_matches(region, sorted(known_regions()), n=1, cutoff=0.8)
    return f" (did you mean {close[0]!r}?)" if close else ""
