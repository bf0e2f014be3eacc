"""Delivery: the one routine every message goes through (docs/design.md rules 2 and 6).

1. Record in the subject's outbox what the messages tell, before they are published: a run
   killed in between, or whose commit fails, tells the next run what subscribers may have heard.
2. Publish them to SNS.
3. Put the events of the messages SNS took on the event bus, before any commit.
4. Take back from the outbox what SNS surely did not deliver. Kept, it would tell the next run
   that subscribers may have heard statuses they never did, and a deployment whose update started
   and ended on either side of the refusal would be reported as moving back to where
   subscribers already have it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from aws_lambda_powertools import Logger

from config_notifier import SERVICE
from config_notifier.accounts import Names
from config_notifier.errors import (
    EventsUnavailable,
    OutboxTaken,
    PublishRefused,
    SnapshotUnavailable,
)
from config_notifier.events import PutResult, event_entries
from config_notifier.model import EntityId, Group, Message
from config_notifier.ports import EventPort, NamesPort, PublisherPort, SnapshotPort
from config_notifier.stored import Outbox, OutboxWrite, Told
from config_notifier.wording import Context

logger = Logger(service=SERVICE, child=True)


@dataclass(frozen=True, slots=True)
class Letter:
    """One message to deliver, with what it tells.

    `group` is None for a message that tells no transition (a baseline summary). `answers_for`
    are the outbox entries to take back should SNS surely refuse it. `routed` are the copies of
    the message for routes (audiences.py): SNS took the letter when it took every copy."""

    message: Message
    group: Group | None = None
    answers_for: frozenset[EntityId] = frozenset()
    routed: tuple[Message, ...] = ()

    @property
    def copies(self) -> tuple[Message, ...]:
        return (self.message, *self.routed)


@dataclass(frozen=True, slots=True)
class Delivered:
    accepted: list[Letter]
    refused: list[tuple[Letter, PublishRefused]]
    outbox: Outbox | None  # the subject's outbox as it now stands
    events: PutResult | None

    @property
    def unconfirmed(self) -> bool:
        """SNS may have taken a refused message that tells transitions: its outbox must stay."""
        return any(not refusal.certain for letter, refusal in self.refused if letter.answers_for)


class Courier:
    """Delivers messages for one run: its outbox generation and its time stamp."""

    def __init__(
        self,
        store: SnapshotPort,
        publisher: PublisherPort,
        events: EventPort | None,
        *,
        stamp: str,
        generation: str,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._events = events
        self._stamp = stamp
        self._generation = generation

    def deliver(
        self,
        where: tuple[str, str],
        subject: str,
        letters: Sequence[Letter],
        *,
        told: Told,
        loaded: Outbox | None,
        context: Context,
    ) -> Delivered:
        """Deliver `letters` about `subject` in region `where` (region, admin): the four steps
        for one subject's messages (the run's grouped messages take them in dispatch.py).

        `told` is recorded in the outbox first, in place of `loaded` (nothing is recorded when it
        is empty). Raises SnapshotUnavailable or OutboxTaken when it cannot be: then nothing is
        published, and the next run finds the same changes again.
        """
        outbox = self.record(where, subject, told, loaded)
        results = self.publish([letter.copies for letter in letters])
        accepted = [letter for letter, r in zip(letters, results, strict=True) if r is None]
        refused = [(letter, r) for letter, r in zip(letters, results, strict=True) if r is not None]
        events = self.put_events([a.group for a in accepted if a.group is not None], context, where)
        surely = {e for letter, r in refused if r.certain for e in letter.answers_for}
        if told and surely and outbox is not None:
            outbox = self.take_back(where, subject, outbox, loaded, surely)
        return Delivered(accepted, refused, outbox, events)

    def record(
        self,
        where: tuple[str, str],
        subject: str,
        told: Told,
        loaded: Outbox | None,
        covered: frozenset[EntityId] = frozenset(),
    ) -> Outbox | None:
        """Step 1: record `told` in `subject`'s outbox in place of `loaded`, with the entries
        subscribers surely have once SNS took its messages (`covered`); the outbox as it now
        stands. Raises SnapshotUnavailable or OutboxTaken: then nothing of it may be published."""
        if not told:
            return loaded
        name, admin = where
        write = OutboxWrite(subject, told, self._generation, loaded, covered)
        keys = self._store.put_outbox(name, write, admin)
        return Outbox(
            told,
            self._generation,
            tuple(sorted({*(loaded.keys if loaded else ()), *keys})),
            covered,
        )

    def publish(self, messages: Sequence[Sequence[Message]]) -> list[PublishRefused | None]:
        """Step 2: each message, as its copies (one per audience), to SNS; None where every copy
        was taken, else its refusal."""
        return self._publisher.publish(messages) if messages else []

    def put_events(
        self, groups: Sequence[Group], context: Context, where: tuple[str, str]
    ) -> PutResult | None:
        """Step 3: the delivered groups' transitions and stuck reports, on the event bus."""
        if self._events is None or not groups:
            return None
        entries = [e for g in groups for e in event_entries(g, context)]
        if not entries:
            return None
        return self._events.put(entries, self._stamp, *where)

    def take_back(
        self,
        where: tuple[str, str],
        subject: str,
        written: Outbox,
        loaded: Outbox | None,
        refused: set[EntityId],
    ) -> Outbox | None:
        """Step 4: `subject`'s outbox once what SNS surely did not deliver is put back as the run
        found it; None when nothing is left of it."""
        before = loaded.told if loaded is not None else {}
        told = {e: s for e, s in written.told.items() if e not in refused}
        told.update((e, before[e]) for e in refused if e in before)
        # What goes back to the earlier outbox's status is covered only if that one was taken.
        earlier = loaded.delivered if loaded is not None else frozenset()
        covered = (written.covered - refused) | (earlier & refused)
        why = "after a certain refusal"
        return self.rewrite(where, subject, written, told, why, covered=covered)

    def rewrite(
        self,
        where: tuple[str, str],
        subject: str,
        written: Outbox,
        told: Told,
        why: str,
        *,
        covered: frozenset[EntityId] | None = None,
    ) -> Outbox | None:
        """`subject`'s outbox, as `written`, made to say `told` instead (`why`, for the log);
        None when nothing is left of it. Its entries stay as covered as they were, unless
        `covered` says otherwise. Left as written when it cannot be, and then vouching for
        nothing: the next run may repeat a transition, never lose one."""
        name, admin = where
        own = written.generation == self._generation
        if covered is None:
            # Another run's outbox, rewritten under this run's generation, which has no message
            # of its own: it covers what subscribers surely have, and is marked so at once.
            covered = written.covered if own else written.delivered
        covered = frozenset(covered & told.keys())
        left_as_written = replace(written, covered=frozenset())
        try:
            if not told:
                if self._store.delete_outbox(name, subject, written, admin):
                    return None
                return left_as_written  # a newer run's head stands
            write = OutboxWrite(subject, told, self._generation, written, covered)
            keys = self._store.put_outbox(name, write, admin)
        except SnapshotUnavailable as exc:
            logger.warning(
                "outbox not rewritten",
                extra={"subject": subject, "why": why, "error": exc.reason},
            )
            return left_as_written
        except OutboxTaken:
            return left_as_written  # another run wrote it since: left to that run and the next
        keys = tuple(sorted({*written.keys, *keys}))
        # Same generation: a mark that SNS took its messages still holds.
        outbox = Outbox(told, self._generation, keys, covered, own and written.taken)
        return outbox if own else self.mark_taken(where, subject, outbox)

    def mark_taken(
        self, where: tuple[str, str], subject: str, outbox: Outbox | None
    ) -> Outbox | None:
        """Mark that SNS took every message of this run's `outbox` that tells what it covers:
        the next run commits what it covers without telling it again (docs/design.md, "An
        outbox SNS took"). Only where the outbox outlives the run: its commit or its removal
        failed, or a refusal was taken back. An outbox this run did not write is left alone: it
        speaks of another run's messages. Unmarked when it cannot be: a repeat, never a loss.
        Returns the outbox as it stands."""
        if outbox is None or outbox.generation != self._generation or not outbox.covered:
            return outbox
        name, admin = where
        try:
            key = self._store.mark_taken(name, subject, outbox, admin)
        except SnapshotUnavailable as exc:
            logger.warning(
                "outbox not marked taken", extra={"subject": subject, "error": exc.reason}
            )
            return outbox
        return replace(outbox, taken=True, keys=tuple(sorted({*outbox.keys, key})))


class MessageContext:
    """What every message of a run carries, with account names loaded at most once per run and
    only by a run whose messages name member accounts."""

    def __init__(self, context: Context, names: NamesPort | None, now: datetime) -> None:
        self.base = context
        self._source = names
        self._now = now
        self._lock = threading.Lock()
        self.names: Names | None = None  # None: no message needed them

    def for_groups(self, groups: Sequence[Group]) -> Context:
        """The run's context, with account names when the message names accounts."""
        if not any(
            group.admin_account
            or any(t.entity.account_id for t in group.members)
            or any(s.entity.account_id for s in group.stuck)
            for group in groups
        ):
            return self.base
        return self.with_names()

    def with_names(self) -> Context:
        with self._lock:
            if self.names is None:
                self.names = self._source.load(self._now) if self._source else Names({})
                if self.names.error is not None:
                    logger.warning(
                        "account names unavailable; messages show account ids alone",
                        extra={"reason": self.names.error},
                    )
        return replace(self.base, account_names=self.names.names)


def retry_events(
    events: EventPort | None, waiting: Sequence[tuple[str, str]], now: datetime
) -> PutResult | None:
    """Put the events earlier runs delivered by SNS but could not put on the bus, if any wait in
    `waiting` (region, admin) pairs, as the regions' snapshots say."""
    if events is None or not waiting:
        return None
    result = events.retry_pending(now)
    if result.cleared:
        try:
            events.clear_markers(waiting)
        except EventsUnavailable as exc:
            # Left: the next run reads an empty event outbox, and tries again.
            logger.warning("event outbox markers not cleared", extra={"error": exc.reason})
    return result
