"""The benchmark's organizations and the minimums they are measured against. Pure: no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ORG_PAGE = 100  # the largest Limit the organization operations accept
ACCOUNT_PACK_PAGE = 20  # the largest Limit DescribeConformancePackStatus accepts
# The member statuses a deployment that is not successful is read through, one filtered call
# each: CREATE, UPDATE and DELETE, failed or in progress (docs/design.md rule 7).
UNHEALTHY_FILTERS = 6
# The unhealthy rules and packs have been failing for days when the benchmark starts.
FAILING_FOR = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class Shape:
    """An organization: how many accounts, regions, and rules and packs per region."""

    accounts: int
    regions: tuple[str, ...]
    org_rules: int
    org_packs: int
    account_packs: int
    # Rules and packs (per region) failing in `failing_accounts` accounts each, for days.
    unhealthy: int = 0
    failing_accounts: int = 3

    def account_ids(self) -> list[str]:
        return [str(100_000_000_000 + i) for i in range(self.accounts)]

    def state(self) -> dict[str, Any]:
        """The simulator state document: everything deployed successfully everywhere, but the
        unhealthy rules and packs, each failing in a few accounts spread over its pages."""
        failing = dict(self.failing())
        since = (datetime.now(UTC) - FAILING_FOR).isoformat(timespec="seconds")
        accounts = self.account_ids()
        spread = len(accounts) // max(self.failing_accounts, 1)

        def deployment(name: str) -> dict[str, Any]:
            if name not in failing:
                return {"name": name}
            members = [
                {
                    "account_id": accounts[(i * spread + failing[name]) % len(accounts)],
                    "status": "CREATE_FAILED",
                    "error_code": "NoAvailableConfigurationRecorderException",
                    "error_message": "Failed to put rule: no configuration recorder.",
                    "last_update_time": since,
                }
                for i in range(self.failing_accounts)
            ]
            return {"name": name, "members": members}

        region = {
            "organization_rules": [deployment(rule_name(i)) for i in range(self.org_rules)],
            "organization_packs": [deployment(pack_name(i)) for i in range(self.org_packs)],
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
        """Pages of member detail for one rule or pack, every member read."""
        return pages(self.accounts, ORG_PAGE)

    def failing(self) -> list[tuple[str, int]]:
        """The unhealthy rules and packs, packs and rules in turn, each with its position (so
        that no two fail in the same accounts)."""
        names = [
            pack_name(i // 2) if i % 2 == 0 else rule_name(i // 2) for i in range(self.unhealthy)
        ]
        return [(name, position) for position, name in enumerate(names)]

    def unhealthy_bound(self) -> int:
        """The most detail calls a run may make for the unhealthy rules and packs of one region:
        one per unhealthy status, and one more page per 100 matching members."""
        return self.unhealthy * (UNHEALTHY_FILTERS + self.failing_accounts // ORG_PAGE)

    def unfiltered_detail_calls(self) -> int:
        """The detail calls of a run that reads every member of the unhealthy rules and packs
        of one region (before docs/design.md rule 7 read through the filters)."""
        return self.unhealthy * self.detail_pages()


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
# S3 and S5: 10,000 accounts, 200 rules and packs, 5 of them failing in a few accounts for days.
S3 = Shape(
    accounts=10_000,
    regions=("us-east-1",),
    org_rules=150,
    org_packs=50,
    account_packs=0,
    unhealthy=5,
)
# S2 is S1 with one pack failing in 100 of its 1,000 accounts, in one region.
S2_PACK = pack_name(7)
S2_REGION = "us-east-1"
S2_FAILING = 100
