"""The snapshot table in moto: chunked member records stay small, change little, and detect races."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import boto3
import pytest

from config_notifier.errors import OutboxTaken
from config_notifier.model import EntityId, Kind, Record, Status
from config_notifier.snapshot import SnapshotStore
from config_notifier.stored import Chunked, OutboxWrite
from sandbox.resources import create_snapshot_table

PACK = EntityId("us-east-1", Kind.ORG_PACK, "ops-baseline")
ITEM_LIMIT = 400 * 1024


@pytest.fixture
def store(sandbox_env) -> Iterator[SnapshotStore]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = f"snapshot-{uuid.uuid4().hex[:8]}"
    create_snapshot_table(client, table)
    yield SnapshotStore(client, table)
    client.delete_table(TableName=table)


def members(
    count: int, status: str = "CREATE_SUCCESSFUL", message: str | None = None
) -> dict[EntityId, Record]:
    records = {}
    for i in range(count):
        entity = EntityId(PACK.region, Kind.ORG_PACK_MEMBER, PACK.name, f"{100_000_000_000 + i}")
        records[entity] = Record(
            entity,
            Status(status, "Code" if message else None, message, "2026-11-21T10:00:00+00:00"),
            "t0",
            "t0",
        )
    return records


def item_sizes(store: SnapshotStore) -> list[int]:
    items = list(store._query(f"M#{PACK.region}#{PACK.kind.value}#{PACK.name}"))
    return [len(item["records"]["S"].encode()) for item in items]


def test_ten_thousand_failing_accounts_fit_in_small_items(store) -> None:
    # Given 10,000 accounts, each failing with a 10 KB error message
    after = members(10_000, "CREATE_FAILED", "E" * 10_240)
    # When they are saved
    commit = store.save_members(PACK, Chunked({}, {}), after)
    # Then no item comes near DynamoDB's 400 KB limit, and they load back as saved (messages cut to 2 KB)
    sizes = item_sizes(store)
    assert max(sizes) < 320 * 1024
    assert commit.written == len(sizes)
    loaded = store.load_members(PACK)
    assert loaded.records.keys() == after.keys()
    sample = next(iter(loaded.records.values()))
    assert sample.status.error_message == "E" * 2048 + " [cut]"


def test_a_settled_pack_of_ten_thousand_accounts_is_a_handful_of_items(store) -> None:
    commit = store.save_members(PACK, Chunked({}, {}), members(10_000))
    assert commit.written <= 8


def test_a_change_in_three_accounts_rewrites_at_most_three_chunks(store) -> None:
    # Given 10,000 stored accounts
    before_records = members(10_000)
    store.save_members(PACK, Chunked({}, {}), before_records)
    before = store.load_members(PACK)
    # When 3 of them fail
    after = dict(before.records)
    for entity in list(after)[:3]:
        after[entity] = replace(after[entity], status=Status("CREATE_FAILED", "X", "y"))
    commit = store.save_members(PACK, before, after)
    # Then at most 3 chunks are written, and the stored state is the new one
    assert 1 <= commit.written <= 3
    assert store.load_members(PACK).records == after


def test_an_empty_member_set_deletes_every_chunk(store) -> None:
    store.save_members(PACK, Chunked({}, {}), members(5_000))
    before = store.load_members(PACK)
    commit = store.save_members(PACK, before, {})
    assert commit.deleted == len(before.chunk_revisions)
    assert store.load_members(PACK).records == {}


def test_growth_rebuckets_and_leaves_no_stale_chunk(store) -> None:
    # Given a small pack stored in one chunk
    store.save_members(PACK, Chunked({}, {}), members(10))
    before = store.load_members(PACK)
    assert len(before.chunk_revisions) == 1
    # When it grows to accounts with long errors that need many chunks
    after = members(2_000, "CREATE_FAILED", "x" * 2_000)
    store.save_members(PACK, before, after)
    # Then everything loads back, from chunks that all exist in the new layout
    loaded = store.load_members(PACK)
    assert loaded.records == after
    assert sorted(loaded.chunk_revisions) == list(range(len(loaded.chunk_revisions)))


def test_an_overlapping_writer_is_detected_not_overwritten(store) -> None:
    # Given two runs that loaded the same members
    store.save_members(PACK, Chunked({}, {}), members(10))
    first = store.load_members(PACK)
    second = store.load_members(PACK)
    changed = {e: replace(r, status=Status("CREATE_FAILED")) for e, r in first.records.items()}
    # When the first commits, then the second commits from its stale view
    assert store.save_members(PACK, first, changed).conflicts == 0
    late = store.save_members(PACK, second, {})
    # Then the second is refused, and the first one's state stands
    assert late.conflicts == 1
    assert store.load_members(PACK).records == changed


# A warm execution environment keeps its store: what it decoded of a region, while it is unchanged.

RULES_REGION = "eu-west-1"


def rules(count: int, status: str = "CREATE_SUCCESSFUL") -> dict[EntityId, Record]:
    entities = [EntityId(RULES_REGION, Kind.ORG_RULE, f"rule-{i:03d}") for i in range(count)]
    return {e: Record(e, Status(status), "t0", "t0") for e in entities}


def test_a_warm_store_decodes_an_unchanged_region_once(store) -> None:
    # Given a region's rules, stored and loaded once by the store a warm run keeps
    store.save_region(RULES_REGION, Chunked({}, {}), rules(150))
    first = store.load_region(RULES_REGION)
    # When the next run loads the region, unchanged
    second = store.load_region(RULES_REGION)
    # Then it holds the same records, the very ones the first load decoded
    assert second.records == first.records == rules(150)
    assert all(second.records[e] is first.records[e] for e in first.records)
    assert second.records is not first.records  # each run's own dict: it may change it


def test_a_warm_store_loads_what_another_run_wrote_since(store, sandbox_env) -> None:
    # Given a store that loaded a region, as a warm execution environment keeps it
    store.save_region(RULES_REGION, Chunked({}, {}), rules(3))
    loaded = store.load_region(RULES_REGION)
    # When another run (a store of its own) changes a rule, then empties the region and writes
    # other rules again: a new chunk at the revision the first one had
    other = SnapshotStore(boto3.client("dynamodb", region_name="us-east-1"), store._table)
    failed = {**loaded.records, **rules(1, "CREATE_FAILED")}
    other.save_region(RULES_REGION, other.load_region(RULES_REGION), failed)
    after_change = store.load_region(RULES_REGION)
    other.save_region(RULES_REGION, other.load_region(RULES_REGION), {})
    other.save_region(RULES_REGION, Chunked({}, {}), rules(2, "UPDATE_IN_PROGRESS"))
    rewritten = store.load_region(RULES_REGION)
    # Then the warm store reads what is stored each time, not what it decoded before
    assert after_change.records == failed
    assert rewritten.chunk_revisions == loaded.chunk_revisions
    assert rewritten.records == rules(2, "UPDATE_IN_PROGRESS")


# The outbox: what a run published before it could commit, and who is publishing it.

OUTBOX_REGION = "us-east-1"
PACK = EntityId(OUTBOX_REGION, Kind.ORG_PACK, "ops-baseline")


def told(count: int, status: str = "CREATE_FAILED") -> dict[EntityId, Status | None]:
    return {
        EntityId(OUTBOX_REGION, Kind.ORG_PACK_MEMBER, "ops-baseline", f"{i:012d}"): Status(
            status, "AccessDenied", "x" * 300
        )
        for i in range(count)
    }


def test_an_outbox_reads_back_as_written_even_when_it_spans_several_items(store) -> None:
    # Given an outbox far larger than one item can hold
    written = told(3_000)
    keys = store.put_outbox(
        OUTBOX_REGION, OutboxWrite("organization-pack#ops-baseline", written, "g1", None)
    )
    # When the region is loaded
    loaded = store.load_region(OUTBOX_REGION).outbox["organization-pack#ops-baseline"]
    # Then it says what was written, in several items
    assert loaded.told == written
    assert loaded.generation == "g1"
    assert len(keys) > 1
    assert set(loaded.keys) == set(keys)


def test_an_outbox_its_run_cuts_down_reads_back_as_cut_down(store) -> None:
    # Given an outbox spanning several items, and the same run putting a shorter one in its
    # place (say, what SNS surely refused taken back): same generation, fewer pieces
    subject = "organization-pack#ops-baseline"
    written = told(3_000)
    keys = store.put_outbox(OUTBOX_REGION, OutboxWrite(subject, written, "g1", None))
    first = store.load_region(OUTBOX_REGION).outbox[subject]
    shorter = dict(list(written.items())[:1])
    store.put_outbox(OUTBOX_REGION, OutboxWrite(subject, shorter, "g1", first))
    # When the region is loaded
    loaded = store.load_region(OUTBOX_REGION).outbox[subject]
    # Then it says what the second write said, not nothing: the first write's pieces are
    # left-overs, still listed so that the outbox's removal takes them too
    assert loaded.told == shorter
    assert set(loaded.keys) == set(keys)


def test_a_second_run_cannot_take_over_an_outbox_it_did_not_load(store) -> None:
    # Given two runs that loaded the region before either wrote an outbox
    subject = "organization-pack#ops-baseline"
    first = store.put_outbox(OUTBOX_REGION, OutboxWrite(subject, told(2), "run-a", None))
    assert first
    # When the second writes its own
    # Then it is refused (the first is publishing), and the first's stays
    with pytest.raises(OutboxTaken, match="another run is publishing"):
        store.put_outbox(
            OUTBOX_REGION, OutboxWrite(subject, told(2, "CREATE_SUCCESSFUL"), "run-b", None)
        )
    assert store.load_region(OUTBOX_REGION).outbox[subject].generation == "run-a"


def test_a_run_replaces_the_outbox_it_loaded_and_a_stale_delete_keeps_the_newer(store) -> None:
    # Given an outbox left by a killed run, loaded by the next one, which replaces it
    subject = "organization-pack#ops-baseline"
    store.put_outbox(OUTBOX_REGION, OutboxWrite(subject, told(1), "killed", None))
    left = store.load_region(OUTBOX_REGION).outbox[subject]
    assert store.put_outbox(OUTBOX_REGION, OutboxWrite(subject, told(1), "next", left))
    # When the stale generation is deleted
    store.delete_outbox(OUTBOX_REGION, subject, left)
    # Then the newer head is still there
    assert store.load_region(OUTBOX_REGION).outbox[subject].generation == "next"
    # And deleting what is there now leaves nothing
    store.delete_outbox(OUTBOX_REGION, subject, store.load_region(OUTBOX_REGION).outbox[subject])
    assert store.load_region(OUTBOX_REGION).outbox == {}


def test_an_outbox_marked_taken_says_which_of_its_entries_subscribers_have(store) -> None:
    # Given an outbox spanning several items, a third of whose entries its messages cover
    subject = "organization-pack#ops-baseline"
    written = told(3_000)
    covered = frozenset(list(written)[::3])
    write = OutboxWrite(subject, written, "g1", None, covered)
    store.put_outbox(OUTBOX_REGION, write)
    unmarked = store.load_region(OUTBOX_REGION).outbox[subject]
    # Then, before SNS is known to have taken them, none counts as delivered
    assert unmarked.covered == covered
    assert unmarked.delivered == frozenset()
    # When the run marks that SNS took its messages
    store.mark_taken(OUTBOX_REGION, subject, unmarked)
    # Then the covered entries, and only those, read back as delivered
    marked = store.load_region(OUTBOX_REGION).outbox[subject]
    assert marked.told == written
    assert marked.delivered == covered
    # And removing the outbox takes the mark with it
    store.delete_outbox(OUTBOX_REGION, subject, marked)
    assert subject not in store.load_region(OUTBOX_REGION).outbox


def test_a_mark_of_an_older_generation_says_nothing_of_the_newer_outbox(store) -> None:
    # Given an outbox whose messages SNS took, marked so
    subject = "organization-pack#ops-baseline"
    everything = frozenset(told(2))
    store.put_outbox(OUTBOX_REGION, OutboxWrite(subject, told(2), "g1", None, everything))
    first = store.load_region(OUTBOX_REGION).outbox[subject]
    store.mark_taken(OUTBOX_REGION, subject, first)
    # When the next run puts its own outbox in its place, its messages not yet taken
    later = told(2, "CREATE_SUCCESSFUL")
    store.put_outbox(OUTBOX_REGION, OutboxWrite(subject, later, "g2", first, everything))
    # Then nothing of the newer outbox counts as delivered
    loaded = store.load_region(OUTBOX_REGION).outbox[subject]
    assert loaded.told == later
    assert loaded.delivered == frozenset()
