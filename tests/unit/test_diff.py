"""The diff: every status of every API, and every combination that matters."""

from __future__ import annotations

import pytest

from config_notifier.diff import diff, diff_told, for_baseline, moved, severity
from config_notifier.model import (
    Change,
    EntityId,
    Kind,
    Observation,
    Record,
    Severity,
    Status,
    Transition,
)
from config_notifier.settings import BaselineMode

ORG_STATUSES = [
    f"{op}_{state}"
    for op in ("CREATE", "UPDATE", "DELETE")
    for state in ("SUCCESSFUL", "IN_PROGRESS", "FAILED")
]
ACCOUNT_PACK_STATES = [
    "CREATE_IN_PROGRESS",
    "CREATE_COMPLETE",
    "CREATE_FAILED",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
]
ORG_KINDS = [Kind.ORG_RULE, Kind.ORG_RULE_MEMBER, Kind.ORG_PACK, Kind.ORG_PACK_MEMBER]


def entity(
    kind: Kind = Kind.ORG_PACK_MEMBER, name: str = "ops-baseline", account: str = ""
) -> EntityId:
    if kind.is_member and not account:
        account = "222222222222"
    return EntityId("us-east-1", kind, name, account)


def record(e: EntityId, status: str, error_code: str | None = None) -> Record:
    return Record(e, Status(status, error_code), first_seen="t0", last_changed="t0")


def observe(e: EntityId, status: str, error_code: str | None = None) -> Observation:
    return Observation(e, Status(status, error_code))


def expected_severity(old: str | None, new: str | None) -> Severity:
    if new is not None and new.endswith("_FAILED"):
        return Severity.FAILURE
    if old is not None and old.endswith("_FAILED"):
        return Severity.RECOVERY
    return Severity.PROGRESS


@pytest.mark.parametrize("kind", ORG_KINDS)
@pytest.mark.parametrize("old", ORG_STATUSES)
@pytest.mark.parametrize("new", ORG_STATUSES)
def test_every_pair_of_organization_statuses(kind: Kind, old: str, new: str) -> None:
    # Given an entity recorded in one status
    e = entity(kind)
    # When AWS reports it in another (or the same) status
    transitions = diff({e: record(e, old)}, [observe(e, new)])
    # Then a different status is one transition with the right severity, the same status none
    if old == new:
        assert transitions == []
    else:
        assert len(transitions) == 1
        t = transitions[0]
        assert (t.entity, t.change, t.old, t.new) == (e, Change.CHANGED, Status(old), Status(new))
        assert t.severity is expected_severity(old, new)


@pytest.mark.parametrize("old", ACCOUNT_PACK_STATES)
@pytest.mark.parametrize("new", ACCOUNT_PACK_STATES)
def test_every_pair_of_account_pack_states(old: str, new: str) -> None:
    # Given an account conformance pack recorded in one state
    e = entity(Kind.ACCOUNT_PACK, "my-pack")
    # When DescribeConformancePackStatus reports another
    transitions = diff({e: record(e, old)}, [observe(e, new)])
    # Then it moves exactly when the state differs, failure when it newly fails
    assert [t.severity for t in transitions] == (
        [] if old == new else [expected_severity(old, new)]
    )


@pytest.mark.parametrize("status", ORG_STATUSES + ACCOUNT_PACK_STATES)
def test_an_entity_that_appears_is_reported_with_its_status(status: str) -> None:
    # Given an empty snapshot
    e = entity()
    # When an entity is observed
    [t] = diff({}, [observe(e, status)])
    # Then it appeared, a failure if it is failing and progress otherwise
    assert (t.change, t.old, t.new) == (Change.APPEARED, None, Status(status))
    assert t.severity is (Severity.FAILURE if status.endswith("FAILED") else Severity.PROGRESS)


@pytest.mark.parametrize("status", ORG_STATUSES)
def test_an_entity_missing_from_a_complete_read_disappeared(status: str) -> None:
    # Given a recorded entity
    e = entity()
    # When a complete read no longer lists it
    [t] = diff({e: record(e, status)}, [])
    # Then it disappeared; losing a failing one is a recovery
    assert (t.change, t.old, t.new) == (Change.DISAPPEARED, Status(status), None)
    assert t.severity is (Severity.RECOVERY if status.endswith("FAILED") else Severity.PROGRESS)


def test_an_unknown_status_value_passes_through_verbatim() -> None:
    # Given a member account recorded as successful
    e = entity()
    # When AWS reports a status value the API model does not list
    [t] = diff({e: record(e, "CREATE_SUCCESSFUL")}, [observe(e, "ROLLBACK_PAUSED")])
    # Then the value is kept as it is, and it is not mistaken for a failure
    assert t.new == Status("ROLLBACK_PAUSED")
    assert t.severity is Severity.PROGRESS


def test_an_unknown_failed_status_is_still_a_failure() -> None:
    e = entity()
    [t] = diff({e: record(e, "CREATE_SUCCESSFUL")}, [observe(e, "ROLLBACK_FAILED")])
    assert t.severity is Severity.FAILURE


def test_a_new_error_code_on_a_failing_entity_is_a_transition() -> None:
    # Given a failing member account
    e = entity()
    # When it still fails, but for another reason
    [t] = diff(
        {e: record(e, "CREATE_FAILED", "ConformancePackCreationFailed")},
        [observe(e, "CREATE_FAILED", "OrganizationAccessDenied")],
    )
    # Then people hear about the new reason
    assert (t.change, t.severity) == (Change.CHANGED, Severity.FAILURE)


def test_a_reworded_error_message_alone_is_not_a_transition() -> None:
    # Given a failing account whose error message carries a request id that changes every call
    e = entity()
    old = Record(e, Status("CREATE_FAILED", "X", "request id 1"), "t0", "t0")
    # When only the message differs
    transitions = diff({e: old}, [Observation(e, Status("CREATE_FAILED", "X", "request id 2"))])
    # Then nobody is paged for it
    assert transitions == []
    assert not moved(old.status, Status("CREATE_FAILED", "X", "request id 2"))


def test_identity_is_region_kind_name_and_account() -> None:
    # Given the same pack name recorded in one region and account
    recorded = entity(account="222222222222")
    # When the same pack is observed in another account and another region
    other_account = entity(account="333333333333")
    other_region = EntityId("eu-west-1", recorded.kind, recorded.name, recorded.account_id)
    transitions = diff(
        {recorded: record(recorded, "CREATE_SUCCESSFUL")},
        [observe(other_account, "CREATE_SUCCESSFUL"), observe(other_region, "CREATE_SUCCESSFUL")],
    )
    # Then they are different entities: two appeared, the recorded one disappeared
    assert sorted(t.change for t in transitions) == ["appeared", "appeared", "disappeared"]


def test_unchanged_entities_produce_nothing() -> None:
    # Given 100 recorded accounts
    entities = [entity(account=f"{i:012d}") for i in range(100)]
    previous = {e: record(e, "CREATE_SUCCESSFUL") for e in entities}
    # When all are observed unchanged
    # Then no transition
    assert diff(previous, [observe(e, "CREATE_SUCCESSFUL") for e in entities]) == []


def test_severity_of_every_change_kind() -> None:
    assert severity(None, Status("CREATE_FAILED")) is Severity.FAILURE
    assert severity(Status("CREATE_FAILED"), Status("UPDATE_SUCCESSFUL")) is Severity.RECOVERY
    assert severity(Status("CREATE_FAILED"), Status("UPDATE_IN_PROGRESS")) is Severity.RECOVERY
    assert severity(Status("CREATE_FAILED"), None) is Severity.RECOVERY
    assert severity(Status("CREATE_IN_PROGRESS"), Status("CREATE_SUCCESSFUL")) is Severity.PROGRESS


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (BaselineMode.SILENT, []),
        (BaselineMode.FAILURES, ["failing"]),
        (BaselineMode.ALL, ["failing", "fine", "running"]),
    ],
)
def test_baseline_publishes_by_mode(mode: BaselineMode, expected: list[str]) -> None:
    # Given a first run that sees three packs, one failing
    observations = [
        observe(entity(Kind.ORG_PACK, "failing"), "CREATE_FAILED"),
        observe(entity(Kind.ORG_PACK, "fine"), "CREATE_SUCCESSFUL"),
        observe(entity(Kind.ORG_PACK, "running"), "CREATE_IN_PROGRESS"),
    ]
    transitions = diff({}, observations)
    # When the baseline mode filters what to publish
    published = for_baseline(transitions, mode)
    # Then silent publishes nothing, failures the failing one, all everything
    assert sorted(t.entity.name for t in published) == expected
    # And all three are still there to commit
    assert len(transitions) == 3


# diff_told: some deliveries of an earlier run were published and never committed.

OK, FAILED = "CREATE_SUCCESSFUL", "CREATE_FAILED"


def moves(transitions: list[Transition]) -> list[tuple[str | None, str | None]]:
    return [(t.old.status if t.old else None, t.new.status if t.new else None) for t in transitions]


def test_an_unconfirmed_failure_that_was_undone_is_followed_by_its_recovery() -> None:
    # Given OK committed, FAILED published but not committed, and the entity OK again
    e = entity()
    # When the next run diffs what subscribers may know against now
    result = diff_told({e: record(e, OK)}, {e: Status(FAILED)}, [observe(e, OK)])
    # Then it reports the recovery from the unconfirmed failure
    assert moves(result) == [(FAILED, OK)]
    assert result[0].severity is Severity.RECOVERY


def test_an_unconfirmed_failure_still_failing_is_repeated_from_the_committed_status() -> None:
    # Given OK committed, FAILED published but not committed, and still FAILED
    e = entity()
    result = diff_told({e: record(e, OK)}, {e: Status(FAILED)}, [observe(e, FAILED)])
    # Then it is told again (a duplicate at worst), with the current status as the new one
    assert moves(result) == [(OK, FAILED)]


def test_an_unconfirmed_status_that_was_committed_after_all_is_not_repeated() -> None:
    # Given the commit happened but the outbox stayed: committed, told and current all agree
    e = entity()
    result = diff_told({e: record(e, FAILED)}, {e: Status(FAILED)}, [observe(e, FAILED)])
    # Then there is nothing to say
    assert result == []


def test_an_unconfirmed_removal_is_repeated_while_the_entity_stays_gone() -> None:
    # Given a removal published but not committed, and the entity still gone
    e = entity()
    result = diff_told({e: record(e, OK)}, {e: None}, [])
    # Then the removal is told again
    assert [t.change for t in result] == [Change.DISAPPEARED]


def test_an_unconfirmed_appearance_then_gone_is_reported_as_removed() -> None:
    # Given an entity whose appearance was published but never committed, and that is gone now
    e = entity()
    result = diff_told({}, {e: Status(FAILED)}, [])
    # Then subscribers who may have heard of it hear it went
    assert moves(result) == [(FAILED, None)]


def test_entities_without_an_unconfirmed_delivery_diff_as_usual() -> None:
    # Given one entity with nothing pending that failed
    e, other = entity(), entity(account="333333333333")
    result = diff_told(
        {e: record(e, OK), other: record(other, OK)},
        {other: Status(OK)},
        [observe(e, FAILED), observe(other, OK)],
    )
    # Then only its own transition is reported
    assert [(t.entity, *m) for t, m in zip(result, moves(result), strict=True)] == [(e, OK, FAILED)]
