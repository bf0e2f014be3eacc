"""Dispatch against in-memory ports: the run's pieces recorded, grouped by cause, published once,
and each piece told what became of it."""

from __future__ import annotations

from datetime import UTC, datetime

from config_notifier.delivery import Courier, MessageContext
from config_notifier.diff import transition
from config_notifier.dispatch import Dispatch, Piece
from config_notifier.errors import PublishRefused
from config_notifier.model import EntityId, Group, Kind, Status, Stuck
from config_notifier.report import RunReport
from config_notifier.stored import OutboxWrite
from config_notifier.wording import Context
from tests.unit.fakes import MemoryEvents, MemorySnapshot, ScriptedPublisher

REGIONS = ("us-east-1", "eu-west-1")
FAILED = Status("CREATE_FAILED", "ConformancePackCreationFailed")
RUNNING = Status("CREATE_IN_PROGRESS")
CONTEXT = Context("run-2", "2026-11-29T10:00:00+00:00")


def pack_piece(region: str, name: str = "ops", account: str = "000000000001") -> Piece:
    """A pack failing in one account of `region`: its outbox entry and its one group."""
    entity = EntityId(region, Kind.ORG_PACK_MEMBER, name, account)
    moved = transition(entity, RUNNING, FAILED)
    group = Group(region, Kind.ORG_PACK, name, None, Status("CREATE_FAILED"), (moved,))
    return Piece(
        (region, ""),
        f"organization-pack#{name}",
        {entity: FAILED},
        None,
        (group,),
        (frozenset({entity}),),
    )


def stall_piece(region: str) -> Piece:
    """A region's singles: one account pack failing, one stuck."""
    failing = EntityId(region, Kind.ACCOUNT_PACK, "local")
    slow = EntityId(region, Kind.ACCOUNT_PACK, "slow")
    moved = transition(failing, RUNNING, FAILED)
    groups = (
        Group(region, Kind.ACCOUNT_PACK, "local", moved, FAILED),
        Group(
            region,
            Kind.ACCOUNT_PACK,
            "slow",
            None,
            RUNNING,
            stuck=(Stuck(slow, RUNNING, "2026-11-29T06:00:00+00:00"),),
        ),
    )
    return Piece(
        (region, ""),
        "#singles",
        {failing: FAILED},
        None,
        groups,
        (
            frozenset({failing}),
            frozenset(),
        ),
    )


def dispatch(
    store: MemorySnapshot, publisher: ScriptedPublisher
) -> tuple[Dispatch, RunReport, MemoryEvents]:
    events = MemoryEvents()
    courier = Courier(store, publisher, events, stamp=CONTEXT.sent_at, generation="g2")
    report = RunReport()
    now = datetime(2026, 11, 29, 10, tzinfo=UTC)
    return Dispatch(courier, MessageContext(CONTEXT, None, now), report), report, events


def test_one_pack_failing_in_two_regions_goes_out_as_one_message_after_both_outboxes() -> None:
    # Given the same pack failing in two regions: two pieces, two outboxes
    store = MemorySnapshot()
    publisher = ScriptedPublisher(store)
    send, report, events = dispatch(store, publisher)
    # When they are dispatched
    sent = send.send([pack_piece(region) for region in REGIONS])
    # Then both outboxes were recorded before the one message was published
    assert len(publisher.accepted) == 1
    assert {key[0] for key in publisher.outboxes_seen[0]} == set(REGIONS)
    assert publisher.accepted[0].subject.startswith("[FAILED] ops (org pack) in 2 regions")
    # And each piece hears its group was delivered, and its events went to its own region
    assert [len(s.accepted) for s in sent] == [1, 1]
    assert report.messages_published == 1
    assert len(events.put_entries) == 2


def test_a_certain_refusal_takes_back_every_outbox_of_the_message() -> None:
    # Given SNS refusing the one message with a 4xx
    store = MemorySnapshot()
    publisher = ScriptedPublisher()
    publisher.refusals = [PublishRefused("Throttling", certain=True)]
    send, report, _ = dispatch(store, publisher)
    # When the two regions' pieces are dispatched
    sent = send.send([pack_piece(region) for region in REGIONS])
    # Then nobody heard: both outboxes are gone, nothing is unconfirmed, the failure is counted
    assert store.outboxes == {}
    assert all(s.refused and not s.unconfirmed and s.outbox is None for s in sent)
    assert report.messages_failed == 1


def test_an_uncertain_refusal_keeps_the_outboxes() -> None:
    # Given SNS answering with an error after it may have taken the message
    store = MemorySnapshot()
    publisher = ScriptedPublisher()
    publisher.refusals = [PublishRefused("timed out", certain=False)]
    send, _, _ = dispatch(store, publisher)
    # When dispatched
    sent = send.send([pack_piece(region) for region in REGIONS])
    # Then the outboxes stay, so the next run repeats rather than loses
    assert len(store.outboxes) == 2
    assert all(s.unconfirmed for s in sent)


def test_an_outbox_that_cannot_be_written_holds_back_its_transitions_not_its_stalls() -> None:
    # Given the table failing when the singles' outbox is written
    store = MemorySnapshot()
    store.unavailable = True
    publisher = ScriptedPublisher()
    send, _, _ = dispatch(store, publisher)
    # When a region's singles are dispatched
    [sent] = send.send([stall_piece("us-east-1")])
    # Then the stall, which needs no outbox, went out; the failure waits for the next run
    assert [m.subject.split("]")[0] for m in publisher.accepted] == ["[STUCK"]
    assert [g.name for g in sent.accepted] == ["slow"]
    assert sent.not_recorded is not None


def test_an_outbox_another_run_holds_holds_back_everything() -> None:
    # Given another run's outbox for the region's singles
    store = MemorySnapshot()
    store.put_outbox("us-east-1", OutboxWrite("#singles", {}, "other-run", None))
    publisher = ScriptedPublisher()
    send, report, _ = dispatch(store, publisher)
    # When this run dispatches its singles without having loaded that outbox
    [sent] = send.send([stall_piece("us-east-1")])
    # Then it publishes nothing: that run tells them
    assert publisher.accepted == []
    assert sent.accepted == []
    assert sent.not_recorded is not None
    assert report.messages_published == 0
