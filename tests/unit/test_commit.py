"""The commit's rules against an in-memory snapshot: what a commit records, and other writers."""

from __future__ import annotations

from collections.abc import Mapping

from config_notifier.commit import (
    COMMIT_RETRIES,
    Committer,
    next_record,
    parent_record,
)
from config_notifier.diff import transition
from config_notifier.model import EntityId, Kind, Observation, Record, Status
from config_notifier.plan import MEMBERS_PENDING, state_key
from config_notifier.report import RunReport
from config_notifier.stored import ChunkCommit, Chunked
from tests.unit.fakes import MemorySnapshot

EARLIER, NOW = "2026-11-29T09:00:00+00:00", "2026-11-29T10:00:00+00:00"
PACK = EntityId("us-east-1", Kind.ORG_PACK, "ops-baseline")
RUNNING = Status("CREATE_IN_PROGRESS")
FAILED = Status("CREATE_FAILED", "ConformancePackCreationFailed", "denied by an SCP")


def member(account: str) -> EntityId:
    return EntityId("us-east-1", Kind.ORG_PACK_MEMBER, "ops-baseline", account)


def record(entity: EntityId, status: Status, since: str = EARLIER) -> Record:
    return Record(entity, status, first_seen=since, last_changed=since)


def test_a_reworded_error_keeps_the_time_the_state_began() -> None:
    # Given a failed member recorded an hour ago
    before = record(member("111111111111"), FAILED)
    # When the same failure comes back with another message
    reworded = Status(FAILED.status, FAILED.error_code, "denied by an SCP (again)")
    after = next_record(before, Observation(before.entity, reworded), NOW)
    # Then the record has the new text, but its state began when it did
    assert after.status == reworded
    assert after.last_changed == EARLIER
    # When it moves to another state, then that state begins now
    assert next_record(after, Observation(before.entity, RUNNING), NOW).last_changed == NOW


def test_a_members_commit_is_applied_again_over_another_writer() -> None:
    # Given members loaded by this run, then changed by another writer
    store = MemorySnapshot()
    first, second = member("111111111111"), member("222222222222")
    loaded = store.load_members(PACK)
    store.another_writer_moves(PACK, record(second, RUNNING))
    # When this run commits its change of the first member
    saved = Committer(store, NOW, RunReport()).members(
        PACK, loaded, [transition(first, None, FAILED)], []
    )
    # Then it is applied on top of what the other writer left: both members are there
    assert saved.conflicts == 0
    assert set(store.members[PACK].records) == {first, second}
    assert store.members[PACK].records[first].status == FAILED


def test_a_commit_gives_up_after_its_retries_and_says_so() -> None:
    # Given a store where another writer moves the members before every save
    store = MemorySnapshot()
    changed = member("111111111111")
    saves = 0
    original = store.save_members

    def busy_save(
        parent: EntityId, before: Chunked, after: Mapping[EntityId, Record]
    ) -> ChunkCommit:
        nonlocal saves
        saves += 1
        store.another_writer_moves(parent, record(member("999999999999"), RUNNING))
        return original(parent, before, after)

    store.save_members = busy_save  # type: ignore[method-assign]
    # When a change is committed
    saved = Committer(store, NOW, RunReport()).members(
        PACK, store.load_members(PACK), [transition(changed, None, FAILED)], []
    )
    # Then it tried once and COMMIT_RETRIES times more, and reports the conflict left
    assert saves == 1 + COMMIT_RETRIES
    assert saved.conflicts == 1
    assert changed not in store.members[PACK].records


def test_a_removed_pack_takes_its_members_with_it_before_its_own_record_goes() -> None:
    # Given a pack recorded with one member
    store = MemorySnapshot()
    account = member("111111111111")
    store.save_members(PACK, store.load_members(PACK), {account: record(account, RUNNING)})
    region = store.load_region("us-east-1")
    store.save_region("us-east-1", region, {PACK: record(PACK, RUNNING)})
    region = store.load_region("us-east-1")
    store.calls.clear()
    # When its removal is committed
    saved = Committer(store, NOW, RunReport()).region(
        ("us-east-1", ""), region, [transition(PACK, RUNNING, None)], stalled=[], records={}
    )
    # Then its members went first, then its own record
    assert saved.conflicts == 0
    assert store.members[PACK].records == {}
    assert store.regions[("us-east-1", "")].records == {}
    assert store.calls == ["load_members", "save_members", "save_region"]


def test_a_pack_record_says_which_state_its_members_reflect() -> None:
    # Given a new pack whose members were read and committed
    observation = Observation(PACK, FAILED)
    # When its record is made
    synced = parent_record(
        None, observation, NOW, reported_stuck=False, members_in_step=True, announce_members=True
    )
    # Then it names the organization-level state its members were read in, and when
    assert synced is not None
    assert synced.detail_synced == state_key(FAILED)
    assert synced.detail_read_at == NOW
    # When its members could not be read, then they are announced once they can be
    pending = parent_record(
        None, observation, NOW, reported_stuck=False, members_in_step=False, announce_members=True
    )
    assert pending is not None
    assert pending.detail_synced == MEMBERS_PENDING
    # When nothing changed, then there is nothing to commit
    assert (
        parent_record(
            synced,
            observation,
            NOW,
            reported_stuck=False,
            members_in_step=True,
            announce_members=False,
        )
        is None
    )


def read_in(stored: Record | None, status: Status, stamp: str) -> Record | None:
    """The pack's record after a run at `stamp` read its members in `status`."""
    return parent_record(
        stored,
        Observation(PACK, status),
        stamp,
        reported_stuck=False,
        members_in_step=True,
        announce_members=False,
    )


def test_an_unhealthy_pack_read_again_in_the_same_state_is_not_rewritten() -> None:
    # Given a failing pack whose members were read an hour ago
    synced = read_in(None, FAILED, EARLIER)
    assert synced is not None
    # When a later run reads its members again, the organization-level state unchanged
    # Then nothing is written: it is read every run anyway (docs/design.md rule 7), so a new
    # time of reading would rewrite the region's records at every run while nothing moves
    assert read_in(synced, FAILED, NOW) is None
    # When it is successful again and its members are read, then that state and time are kept,
    # which the daily reconcile counts from
    fixed = Status("CREATE_SUCCESSFUL")
    healthy = read_in(synced, fixed, NOW)
    assert healthy is not None
    assert (healthy.detail_synced, healthy.detail_read_at) == (state_key(fixed), NOW)
    # And a reconcile of it a day later stamps the new time
    later = "2026-11-30T10:00:00+00:00"
    reconciled = read_in(healthy, fixed, later)
    assert reconciled is not None
    assert reconciled.detail_read_at == later
