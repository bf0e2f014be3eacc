"""PublishBatch packing (at most 10 entries and 256 KiB per request), and how one message's
answer follows from the publishes of its renderings and copies."""

from __future__ import annotations

from config_notifier.errors import PublishRefused
from config_notifier.model import Message, Rendering
from config_notifier.publish import MAX_BATCH_BYTES, _after, _answer, _batches, _Publish


def publish(size: int, index: int = 0) -> _Publish:
    body = "x" * size
    message = Message(
        subject="s",
        bodies={"email": body, "https": body, "sqs": body},
        attributes={},
        group_key="k",
    )
    return _Publish(index, "arn:aws:sns:us-east-1:123456789012:t", Rendering.TEXT, message)


def test_batches_hold_at_most_ten_publishes() -> None:
    batches = list(_batches([publish(10, i) for i in range(25)]))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [p.message_index for b in batches for p in b] == list(range(25))


def test_batches_stay_under_the_request_size() -> None:
    # Given publishes of about 100 KB each
    batches = list(_batches([publish(100_000)] * 5))
    # Then no batch adds up to more than 256 KiB
    assert all(sum(p.size for p in b) <= MAX_BATCH_BYTES for b in batches)
    assert [len(b) for b in batches] == [2, 2, 1]


def test_a_message_is_accepted_only_when_every_publish_of_it_was() -> None:
    assert _answer([None, None, None]) is None
    refusal = _answer([None, PublishRefused("json topic: Throttled", certain=True), None])
    assert refusal is not None
    assert refusal.reason.startswith("json topic: Throttled")


def test_a_refusal_is_certain_only_when_every_publish_was_surely_refused() -> None:
    # Given one publish SNS took and one it surely refused: subscribers of the first heard it
    partly = _answer([None, PublishRefused("Throttled", certain=True)])
    assert partly is not None
    assert not partly.certain
    # Given one publish surely refused and one SNS may have taken (a 5xx)
    unsure = _answer([PublishRefused("Throttled", certain=True), PublishRefused("InternalError")])
    assert unsure is not None
    assert not unsure.certain
    # Given every publish surely refused
    surely = _answer(
        [PublishRefused("NotFound", certain=True), PublishRefused("NotFound", certain=True)]
    )
    assert surely is not None
    assert surely.certain
    assert "and 1 more of its 2 publishes" in surely.reason


def test_a_publish_tried_again_is_taken_if_its_last_attempt_was_and_surely_refused_only_if_each_was() -> (
    None
):
    surely = PublishRefused("InternalError", certain=True)
    # Given an entry SNS failed, then took when it went again: taken
    assert _after(surely, None) is None
    # Given one failed, then answered with a 5xx (SNS may have taken it): not surely refused
    maybe = _after(surely, PublishRefused("InternalError", certain=False))
    assert maybe is not None
    assert not maybe.certain
    # Given one failed twice, surely each time: surely refused
    twice = _after(surely, PublishRefused("InternalError again", certain=True))
    assert twice is not None
    assert twice.certain
    assert twice.reason == "InternalError again"
