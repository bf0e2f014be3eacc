"""Events: batches of 10, and what EventBridge refuses is kept for the next run, not dropped."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from config_notifier.events import (
    DETAIL_TYPE_STUCK,
    Entry,
    EventOutbox,
    EventPublisher,
    event_entries,
)
from config_notifier.model import EntityId, Group, Kind, Status, Stuck
from config_notifier.wording import Context

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
STAMP = NOW.isoformat()


class MemoryOutbox(EventOutbox):
    def __init__(self) -> None:
        self.kept: dict[str, Entry] = {}

    def keep(
        self, entries: Sequence[Entry], now: str, region: str = "us-east-1", admin: str = ""
    ) -> None:
        for i, entry in enumerate(entries):
            self.kept[f"{now}#{len(self.kept) + i}"] = entry

    def pending(self) -> list[tuple[str, Entry]]:
        return sorted(self.kept.items())

    def remove(self, key: str) -> None:
        del self.kept[key]


def entries(n: int) -> list[Entry]:
    return [
        {"Source": "config-deployment-notifier", "DetailType": "T", "Detail": json.dumps({"i": i})}
        for i in range(n)
    ]


def client() -> Any:
    return boto3.client(
        "events", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_entries_go_in_batches_of_10_on_the_named_bus() -> None:
    # Given 23 events
    events, outbox = client(), MemoryOutbox()
    with Stubber(events) as stub:
        for start, size in ((0, 10), (10, 10), (20, 3)):
            stub.add_response(
                "put_events",
                {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}] * size},
                {
                    "Entries": [
                        dict(e, EventBusName="ops") for e in entries(23)[start : start + size]
                    ]
                },
            )
        # When they are put
        result = EventPublisher(events, "ops", outbox).put(entries(23), STAMP, "us-east-1")
        # Then three calls carry them all, and nothing is kept
        stub.assert_no_pending_responses()
    assert (result.put, result.failed, outbox.kept) == (23, 0, {})


def test_a_refused_entry_is_kept_and_put_again_next_run() -> None:
    # Given a batch of 3 in which EventBridge refuses the second
    events, outbox = client(), MemoryOutbox()
    with Stubber(events) as stub:
        stub.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [
                    {"EventId": "a"},
                    {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"},
                    {"EventId": "c"},
                ],
            },
            {"Entries": [ANY] * 3},
        )
        result = EventPublisher(events, "ops", outbox).put(entries(3), STAMP, "us-east-1")
    # Then the other two count as put and exactly the refused one is kept, with the reason
    assert (result.put, result.failed, result.dropped) == (2, 1, 0)
    assert [json.loads(e["Detail"]) for e in outbox.kept.values()] == [{"i": 1}]
    assert "InternalFailure: try again" in result.errors
    # When the next run retries it and EventBridge takes it
    with Stubber(events) as stub:
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "b"}]})
        retried = EventPublisher(events, "ops", outbox).retry_pending(NOW + timedelta(minutes=5))
    # Then the outbox is empty, and the run may clear the region's waiting marker
    assert (retried.put, outbox.kept, retried.cleared) == (1, {}, True)


def test_an_event_kept_for_more_than_a_day_is_dropped_and_counted() -> None:
    events, outbox = client(), MemoryOutbox()
    outbox.keep(entries(1), STAMP)
    with Stubber(events):
        result = EventPublisher(events, "ops", outbox).retry_pending(NOW + timedelta(hours=25))
    assert (result.put, result.dropped, outbox.kept, result.cleared) == (0, 1, {}, True)


def test_an_event_refused_again_keeps_its_region_waiting() -> None:
    # Given a kept event, and EventBridge refusing it again
    events, outbox = client(), MemoryOutbox()
    outbox.keep(entries(1), STAMP)
    with Stubber(events) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]},
        )
        result = EventPublisher(events, "ops", outbox).retry_pending(NOW + timedelta(minutes=5))
    # Then it stays kept, and the outbox is not cleared
    assert (result.failed, len(outbox.kept), result.cleared) == (1, 1, False)


def test_a_stuck_report_is_one_stuck_event_with_the_member_summary() -> None:
    pack = EntityId("us-east-1", Kind.ORG_PACK, "ops-baseline")
    stuck = Stuck(
        pack,
        Status("CREATE_IN_PROGRESS"),
        "2026-11-21T08:00:00+00:00",
        (("CREATE_SUCCESSFUL", 40),),
        members_finished=True,
    )
    group = Group("us-east-1", Kind.ORG_PACK, "ops-baseline", None, stuck.status, stuck=(stuck,))
    [entry] = event_entries(group, Context("run-1", STAMP))
    detail = json.loads(entry["Detail"])
    assert entry["DetailType"] == DETAIL_TYPE_STUCK
    assert (detail["severity"], detail["members_finished"]) == ("stuck", True)
    assert detail["member_statuses"] == {"CREATE_SUCCESSFUL": 40}
