"""The benchmark's organizations and the minimums they are measured against. Pure: no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ORG_PAGE = 100  # the largest Limit the organization operations accept
ACCOUNT_PACK_PAGE = 20  # the largest Limit DescribeConformancePackStatus accepts


@dataclass(frozen=True, slots=True)
class Shape:
    """An organization: how many accounts, regions, and rules and packs per region."""

    accounts: int
    regions: tuple[str, ...]
    org_rules: int
    org_packs: int
    account_packs: int

    def account_ids(self) -> list[str]:
        return [str(100_000_000_000 + i) for i in range(self.accounts)]

    def state(self) -> dict[str, Any]:
        """The simulator state document: everything deployed successfully everywhere."""
        region = {
            "organization_rules": [{"name": rule_name(i)} for i in range(self.org_rules)],
            "organization_packs": [{"name": pack_name(i)} for i in range(self.org_packs)],
            "account_packs": [
                {"name": f"account-pack-{i:03d}", "state": "CREATE_COMPLETE"}
                for i in range(self.account_packs)
            ],
        }
        return {
            "accounts": self.account_ids(),
            "regions": dict.fromkeys(self.regions, region),
        }

    def list_chains(self) -> list[int]:
        """Pages of each list source, per region: each source's pages follow one another."""
        return [
            pages(self.org_rules, ORG_PAGE),
            pages(self.org_packs, ORG_PAGE),
            pages(self.account_packs, ACCOUNT_PACK_PAGE),
        ]

    def min_list_calls(self) -> int:
        """The fewest calls that read every list source of every region once."""
        return sum(max(chain, 1) for chain in self.list_chains()) * len(self.regions)

    def detail_pages(self) -> int:
        """Pages of member detail for one rule or pack."""
        return pages(self.accounts, ORG_PAGE)


def rule_name(i: int) -> str:
    return f"org-rule-{i:03d}"


def pack_name(i: int) -> str:
    return f"org-pack-{i:03d}"


def pages(items: int, page: int) -> int:
    """API pages needed for `items` (an empty listing still takes one call)."""
    return max(math.ceil(items / page), 1)


def floor_seconds(
    latency_s: float, shape: Shape, detail_chains: list[int], concurrency: int
) -> float:
    """The least wall time the Config calls of a run can take at `concurrency`.

    List sources run side by side, so the longest page chain bounds that phase. Member detail
    starts once the lists are read: its pages are spread over `concurrency` workers, but one
    rule's or pack's pages follow one another.
    """
    list_phase = (
        max(shape.list_chains())
        if concurrency >= 3 * len(shape.regions)
        else (math.ceil(shape.min_list_calls() / concurrency))
    )
    detail_phase = (
        max(*detail_chains, math.ceil(sum(detail_chains) / concurrency)) if detail_chains else 0
    )
    return latency_s * (list_phase + detail_phase)


S1 = Shape(
    accounts=1_000,
    regions=("us-east-1", "eu-west-1"),
    org_rules=150,
    org_packs=50,
    account_packs=50,
)
S3 = Shape(accounts=10_000, regions=("us-east-1",), org_rules=150, org_packs=50, account_packs=0)
# S2 is S1 with one pack failing in 100 of its 1,000 accounts, in one region.
S2_PACK = pack_name(7)
S2_REGION = "us-east-1"
S2_FAILING = 100
