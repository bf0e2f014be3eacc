"""An invocation whose event is not a JSON object fails at once, saying what was expected."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest

from config_notifier import handler
from sandbox.lambda_runtime import FakeContext


@pytest.mark.parametrize(
    ("event", "described"),
    [
        (["tick"], 'an array: ["tick"]'),
        ("tick", 'a string: "tick"'),
        (None, "null: null"),
        (42, "a number: 42"),
        (1.5, "a number: 1.5"),
        (True, "a boolean: true"),
    ],
)
def test_an_event_that_is_not_an_object_is_refused_before_the_run(
    event: Any, described: str
) -> None:
    # Given no settings at all: a run would fail on them first
    with mock.patch.dict("os.environ", {}, clear=True):
        handler.settings.cache_clear()
        # When the handler is given an event that is not a JSON object
        with pytest.raises(handler.InvalidEventError) as caught:
            handler.lambda_handler(event, FakeContext())
        handler.settings.cache_clear()
    # Then it says what was expected, with a valid example, and what it got
    message = str(caught.value)
    assert message.startswith("The event must be a JSON object, as the EventBridge schedule sends")
    assert json.dumps(handler.EXAMPLE_EVENT) in message
    assert message.endswith(f"this one is {described}")


def test_a_long_event_is_shown_cut() -> None:
    with pytest.raises(handler.InvalidEventError) as caught:
        handler.scheduled_event(list(range(1000)))
    assert str(caught.value).endswith("...")
    assert len(str(caught.value)) < 700


def test_any_object_is_an_event() -> None:
    # A manual invocation's {} is accepted as well as the schedule's event
    assert handler.scheduled_event({}) == {}
    assert handler.scheduled_event(handler.EXAMPLE_EVENT) is handler.EXAMPLE_EVENT
