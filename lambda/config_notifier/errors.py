"""The failures a run knows how to handle, one class per failure mode (docs/design.md, "Errors").

Each adapter catches the botocore error it met and raises one of these `from` it, so the steps of
a run never catch botocore's exceptions and never read meaning out of a None, a bool or a string.
An error that is none of these is a bug or an outage the run cannot reason about: it propagates
and the invocation fails loudly.
"""

from __future__ import annotations


class NotifierError(Exception):
    """Base of the run's own errors; `reason` says what happened in words a person can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SourceUnreadable(NotifierError):
    """A source could not be read completely: its entities are unknown this run (rule 1)."""


class AdminUnreachable(NotifierError):
    """A delegated administrator's role cannot be assumed: everything it deployed is unknown."""


class SnapshotUnavailable(NotifierError):
    """The snapshot table could not be read or written; what was to be recorded is redone."""


class OutboxTaken(NotifierError):
    """Another run wrote this outbox since this run loaded it: that run is publishing it now."""


class PublishRefused(NotifierError):
    """SNS did not confirm a message. `certain` when no attempt can have delivered it: every
    request was refused with a 4xx answer or never reached SNS. Otherwise (a 5xx answer, a
    connection lost after sending) SNS may have taken it all the same (rule 2)."""

    def __init__(self, reason: str, *, certain: bool = False) -> None:
        super().__init__(reason)
        self.certain = certain


class EventsUnavailable(NotifierError):
    """The event outbox could not be read or written."""
