"""Delivery's rules against in-memory ports: record, publish, take back what SNS surely refused."""

from __future__ import annotations

import pytest

from config_notifier.delivery import Courier, Delivered, Letter
from config_notifier.diff import transition
from config_notifier.errors import OutboxTaken, PublishRefused, SnapshotUnavailable
from config_notifier.model import EntityId, Group, Kind, Message, Status
from config_notifier.stored import Outbox, OutboxWrite
from config_notifier.wording import Context
from tests.unit.fakes import MemoryEvents, MemorySnapshot, ScriptedPublisher

REGION = ("us-east-1", "")
PACK = EntityId("us-east-1", Kind.ORG_PACK, "ops-baseline")
OTHER = EntityId("us-east-1", Kind.ACCOUNT_PACK, "local-pack")
FAILED = Status("CREATE_FAILED", "ConformancePackCreationFailed")
RUNNING = Status("CREATE_IN_PROGRESS")
CONTEXT = Context("run-2", "2026-11-29T10:00:00+00:00")


def letter(entity: EntityId, new: Status, old: Status | None = RUNNING) -> Letter:
    t = transition(entity, old, new)
    group = Group(entity.region, entity.kind, entity.name, t, new)
    message = Message(f"about {entity.name}", {"default": entity.name}, {}, entity.name)
    return Letter(message, group, frozenset({entity}))


def courier(store: MemorySnapshot, publisher: ScriptedPublisher) -> tuple[Courier, MemoryEvents]:
    events = MemoryEvents()
    return Courier(store, publisher, events, stamp=CONTEXT.sent_at, generation="g2"), events


def deliver_failure(deliver: Courier, loaded: Outbox | None = None) -> Delivered:
    """The pack's failure delivered alone, as a region's pack message."""
    return deliver.deliver(
        REGION, "pack", [letter(PACK, FAILED)], told={PACK: FAILED}, loaded=loaded, context=CONTEXT
    )


def test_what_a_message_tells_is_in_the_outbox_before_it_is_published() -> None:
    # Given a message about a failed pack
    store = MemorySnapshot()
    publisher = ScriptedPublisher(store)
    deliver, events = courier(store, publisher)
    # When it is delivered
    delivered = deliver_failure(deliver)
    # Then the outbox held the failure when SNS was called, SNS took it, and its event went out
    assert publisher.outboxes_seen == [
        {("us-east-1", "", "pack"): Outbox({PACK: FAILED}, "g2", ("outbox#pack",))}
    ]
    assert [m.subject for m in publisher.accepted] == ["about ops-baseline"]
    assert delivered.outbox is not None
    assert delivered.outbox.told == {PACK: FAILED}
    assert len(events.put_entries) == 1


def test_a_certain_refusal_puts_the_outbox_back_as_the_run_found_it() -> None:
    # Given an outbox an earlier run left (it told RUNNING), and SNS refusing with a 4xx
    store = MemorySnapshot()
    store.put_outbox("us-east-1", OutboxWrite("pack", {PACK: RUNNING}, "g1", None))
    loaded = store.load_region("us-east-1").outbox["pack"]
    publisher = ScriptedPublisher()
    publisher.refusals = [PublishRefused("Throttling", certain=True)]
    deliver, events = courier(store, publisher)
    # When the failure is delivered
    delivered = deliver_failure(deliver, loaded)
    # Then subscribers heard nothing, so the outbox says again what the earlier run told
    assert store.outboxes[("us-east-1", "", "pack")].told == {PACK: RUNNING}
    assert delivered.outbox is not None
    assert delivered.outbox.told == {PACK: RUNNING}
    assert not delivered.unconfirmed
    assert events.put_entries == []


def test_a_certain_refusal_of_a_first_message_leaves_no_outbox() -> None:
    # Given no outbox, and SNS refusing with a 4xx
    store = MemorySnapshot()
    publisher = ScriptedPublisher()
    publisher.refusals = [PublishRefused("InvalidParameter", certain=True)]
    deliver, _ = courier(store, publisher)
    # When a failure is delivered
    delivered = deliver_failure(deliver)
    # Then nothing is left to tell the next run that subscribers may have heard it
    assert store.outboxes == {}
    assert delivered.outbox is None


def test_a_refusal_sns_may_have_taken_keeps_the_outbox() -> None:
    # Given SNS answering with a 5xx (it may have published all the same)
    store = MemorySnapshot()
    publisher = ScriptedPublisher()
    publisher.refusals = [PublishRefused("InternalError", certain=False)]
    deliver, _ = courier(store, publisher)
    # When a failure is delivered
    delivered = deliver_failure(deliver)
    # Then the outbox still says subscribers may have heard the failure
    assert store.outboxes[("us-east-1", "", "pack")].told == {PACK: FAILED}
    assert delivered.unconfirmed


def test_only_the_refused_letter_is_taken_back_from_a_shared_outbox() -> None:
    # Given two single messages in one outbox, the second surely refused
    store = MemorySnapshot()
    publisher = ScriptedPublisher()
    publisher.refusals = [None, PublishRefused("Throttling", certain=True)]
    deliver, events = courier(store, publisher)
    told = {PACK: FAILED, OTHER: FAILED}
    # When both are delivered
    delivered = deliver.deliver(
        REGION,
        "#singles",
        [letter(PACK, FAILED), letter(OTHER, FAILED)],
        told=told,
        loaded=None,
        context=CONTEXT,
    )
    # Then the outbox keeps what SNS took and forgets what it refused; one event went out
    assert store.outboxes[("us-east-1", "", "#singles")].told == {PACK: FAILED}
    assert [a.group.name for a in delivered.accepted if a.group] == ["ops-baseline"]
    assert len(events.put_entries) == 1


def test_an_outbox_another_run_wrote_is_left_to_it_and_nothing_is_published() -> None:
    # Given another run that wrote the outbox after this run loaded the region
    store = MemorySnapshot()
    store.put_outbox("us-east-1", OutboxWrite("pack", {PACK: RUNNING}, "other-run", None))
    publisher = ScriptedPublisher()
    deliver, _ = courier(store, publisher)
    # When this run delivers as if there were none, then it is refused and publishes nothing
    with pytest.raises(OutboxTaken):
        deliver_failure(deliver)
    assert publisher.accepted == []


def test_a_message_that_cannot_be_recorded_is_not_published() -> None:
    # Given a snapshot table that cannot be written
    store = MemorySnapshot()
    store.unavailable = True
    publisher = ScriptedPublisher()
    deliver, _ = courier(store, publisher)
    # When a failure is delivered, then the store's error says so and SNS was never called
    with pytest.raises(SnapshotUnavailable):
        deliver_failure(deliver)
    assert publisher.accepted == []


def test_an_outbox_whose_take_back_could_not_be_written_vouches_for_nothing() -> None:
    # Given a run that records two account packs' failures, covered by its messages
    store = MemorySnapshot()
    deliver, _ = courier(store, ScriptedPublisher())
    told = {PACK: FAILED, OTHER: FAILED}
    written = deliver.record(REGION, "#singles", told, None, frozenset(told))
    assert written is not None
    # When SNS surely refused OTHER's message, and putting it back fails
    store.unavailable = True
    after = deliver.take_back(REGION, "#singles", written, None, {OTHER})
    # Then the outbox as it stands covers nothing, so nothing can mark OTHER as delivered
    assert after is not None
    assert after.covered == frozenset()
    store.unavailable = False
    deliver.mark_taken(REGION, "#singles", after)
    assert store.outboxes[("us-east-1", "", "#singles")].delivered == frozenset()


def test_a_take_back_keeps_what_sns_took_covered_and_marks_it() -> None:
    # Given the same two failures, and SNS taking PACK's message and surely refusing OTHER's
    store = MemorySnapshot()
    deliver, _ = courier(store, ScriptedPublisher())
    told = {PACK: FAILED, OTHER: FAILED}
    written = deliver.record(REGION, "#singles", told, None, frozenset(told))
    assert written is not None
    # When OTHER is taken back and the outbox marked
    after = deliver.take_back(REGION, "#singles", written, None, {OTHER})
    marked = deliver.mark_taken(REGION, "#singles", after)
    # Then only PACK counts as delivered: OTHER is told by the next run
    assert marked is not None
    assert store.outboxes[("us-east-1", "", "#singles")].delivered == frozenset({PACK})
