"""Grouping by cause: one change in the organization is one message (docs/design.md rule 9).

A run's changes come as groups, one per rule or pack per region (and per account pack). People
want one message per cause, so the run's groups are regrouped before anything is rendered:

- A deployment's changes in every region are one notice.
- A member account's change in a deployment is the account's, not the deployment's, when the
  account's changes this run reach more deployments than that deployment's changes reach
  accounts (an account joining or leaving, a recorder turned off). A deployment in a region
  whose member changes are all the accounts' goes, with its own move, into one notice with
  every other such deployment; one with a change of its own keeps all of its changes.

Pure: no I/O. Each group comes with a key of the caller's (which outbox it belongs to), so the
caller can tell which of its groups a notice carries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from config_notifier.model import Group, Kind, Severity

type Deployment = tuple[Kind, str, str]  # kind, name, deploying admin ("" for this account)


class Cause(StrEnum):
    DEPLOYMENT = "deployment"  # one rule or pack, in any number of regions
    ACCOUNTS = "accounts"  # member accounts whose changes span deployments


@dataclass(frozen=True, slots=True)
class Notice[K]:
    """What one message tells: groups of one cause, each with its caller's key."""

    cause: Cause
    parts: tuple[tuple[K, Group], ...]
    accounts: tuple[str, ...] = ()  # ACCOUNTS: the accounts it is about, sorted

    @property
    def groups(self) -> tuple[Group, ...]:
        return tuple(group for _, group in self.parts)

    @property
    def severity(self) -> Severity:
        return min((g.severity for g in self.groups), key=lambda s: s.rank)

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({g.region for g in self.groups}))

    @property
    def deployments(self) -> tuple[Deployment, ...]:
        return tuple(sorted({deployment(g) for g in self.groups}))


def deployment(group: Group) -> Deployment:
    return group.kind, group.name, group.admin_account


def notices[K](keyed: Sequence[tuple[K, Group]]) -> list[Notice[K]]:
    """The run's groups regrouped by cause, worst first. Every transition and stall of the input
    is in exactly one notice."""
    caused = account_caused([g for _, g in keyed])
    by_deployment: dict[Deployment, list[tuple[K, Group]]] = defaultdict(list)
    for_accounts: list[tuple[K, Group]] = []
    for key, group in keyed:
        if _moved_for_accounts(group, caused):
            for_accounts.append((key, group))
        else:
            by_deployment[deployment(group)].append((key, group))
    found: list[Notice[K]] = [
        Notice(Cause.DEPLOYMENT, tuple(parts)) for parts in by_deployment.values()
    ]
    if for_accounts:
        accounts = sorted({a for _, g in for_accounts for a in _accounts(g)})
        found.append(Notice(Cause.ACCOUNTS, tuple(for_accounts), tuple(accounts)))
    return sorted(found, key=_order)


def account_caused(groups: Sequence[Group]) -> frozenset[tuple[str, Deployment]]:
    """The (account, deployment) changes whose cause is the account: its changes this run reach
    more deployments than that deployment's changes reach accounts."""
    reach: dict[str, set[Deployment]] = defaultdict(set)
    spread: dict[Deployment, set[str]] = defaultdict(set)
    for group in groups:
        for account in _accounts(group):
            reach[account].add(deployment(group))
            spread[deployment(group)].add(account)
    return frozenset(
        (account, d)
        for account, deployments in reach.items()
        for d in deployments
        if len(deployments) > len(spread[d])
    )


def _moved_for_accounts(group: Group, caused: frozenset[tuple[str, Deployment]]) -> bool:
    """True when every member change of the group is its account's: it goes, whole, with the
    accounts' notice, its own move and stall too. A group goes whole to one message, so SNS's
    answer to that message is the group's (rule 2); one with any change of its own keeps its
    accounts' changes too."""
    d = deployment(group)
    members = _accounts(group)
    return bool(members) and all((account, d) in caused for account in members)


def _accounts(group: Group) -> set[str]:
    found = {t.entity.account_id for t in group.members}
    found |= {s.entity.account_id for s in group.stuck}
    return found - {""}


def _order(notice: Notice[object]) -> tuple[int, int, tuple[Deployment, ...]]:
    return notice.severity.rank, notice.cause is Cause.ACCOUNTS, notice.deployments
