"""PublishBatch packing: at most 10 entries and 256 KiB per request."""

from __future__ import annotations

from config_notifier.model import Message
from config_notifier.publish import MAX_BATCH_BYTES, _batches


def message(size: int) -> Message:
    return Message(subject="s", bodies={"default": "x" * size}, attributes={}, group_key="k")


def test_batches_hold_at_most_ten_messages() -> None:
    batches = list(_batches([message(10)] * 25))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [i for b in batches for i, _ in b] == list(range(25))


def test_batches_stay_under_the_request_size() -> None:
    # Given messages of about 100 KB each
    batches = list(_batches([message(100_000)] * 5))
    # Then no batch adds up to more than 256 KiB
    assert all(sum(m.size for _, m in b) <= MAX_BATCH_BYTES for b in batches)
    assert [len(b) for b in batches] == [2, 2, 1]
