"""Dispatch: the run's messages, grouped by cause and delivered together (docs/design.md rules 2
and 9).

Each rule or pack with something to tell, and each region's single messages, hand in a piece:
what its outbox records and the groups that tell it. Then, for the whole run:

1. every piece's outbox is recorded (rule 2); a piece that cannot be recorded tells no transition
   this run (its stall reports, which need no outbox, go all the same unless another run holds
   the outbox: that run tells them);
2. the recorded groups are regrouped by cause (grouping.py) and each notice rendered as one
   message;
3. the messages are published, and the events of those SNS took put on the bus;
4. each piece hears what became of its groups, each carried whole by one message: delivered
   when SNS took it; its outbox entries taken back only when SNS surely refused it, since a
   subscriber who may have heard must be told if it moves back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_lambda_powertools import Logger

from config_notifier import SERVICE
from config_notifier.audiences import copies_of
from config_notifier.delivery import Courier, MessageContext
from config_notifier.errors import OutboxTaken, PublishRefused, SnapshotUnavailable
from config_notifier.grouping import Notice, notices
from config_notifier.model import EntityId, Group
from config_notifier.report import RunReport
from config_notifier.routing import Route
from config_notifier.stored import Outbox, Told

logger = Logger(service=SERVICE, child=True)

type LetterKey = tuple[int, int]  # (piece, group): one group of one piece


@dataclass(frozen=True, slots=True)
class Piece:
    """One subject's share of the run's messages: the outbox entries recorded before anything is
    published, and its groups, each with the entries to take back should SNS surely refuse it."""

    where: tuple[str, str]  # (region, admin)
    subject: str
    told: Told
    loaded: Outbox | None
    groups: tuple[Group, ...]
    answers: tuple[frozenset[EntityId], ...]  # per group
    covered: frozenset[EntityId] = frozenset()  # of `told`, had once SNS took its groups


@dataclass(slots=True)
class Sent:
    """What became of one piece."""

    accepted: list[Group] = field(default_factory=list)  # every message with a part of it taken
    refused: list[tuple[Group, PublishRefused]] = field(default_factory=list)
    outbox: Outbox | None = None  # the subject's outbox as it now stands
    not_recorded: SnapshotUnavailable | OutboxTaken | None = None  # then no transition went out
    unconfirmed: bool = False  # SNS may have taken a refused message: the outbox must stay


class Dispatch:
    def __init__(
        self,
        courier: Courier,
        messages: MessageContext,
        report: RunReport,
        routes: Sequence[Route] = (),
    ) -> None:
        self._courier = courier
        self._messages = messages
        self._report = report
        self._routes = routes  # each message also goes, restricted, to each route it concerns

    def send(self, pieces: Sequence[Piece]) -> list[Sent]:
        """Deliver every piece's groups, regrouped by cause; what became of each, in order."""
        sent = [Sent(outbox=piece.loaded) for piece in pieces]
        live: list[tuple[LetterKey, Group]] = []
        for index, piece in enumerate(pieces):
            keep = self._record(piece, sent[index])
            live += [((index, j), piece.groups[j]) for j in keep]
        found = notices(live)
        outcomes = self._publish(found)
        surely: dict[int, set[EntityId]] = defaultdict(set)
        for notice, outcome in zip(found, outcomes, strict=True):
            # Each group is in one notice whole (grouping.py): the message's answer is its own.
            for (index, j), group in notice.parts:
                if outcome is None:
                    sent[index].accepted.append(group)
                    continue
                sent[index].refused.append((group, outcome))
                if outcome.certain:
                    surely[index] |= pieces[index].answers[j]
                elif pieces[index].answers[j]:
                    sent[index].unconfirmed = True
        for index, entities in surely.items():
            self._take_back(pieces[index], sent[index], entities)
        return sent

    def _record(self, piece: Piece, sent: Sent) -> list[int]:
        """Record the piece's outbox; the groups that may go out."""
        everything = list(range(len(piece.groups)))
        try:
            sent.outbox = self._courier.record(
                piece.where, piece.subject, piece.told, piece.loaded, piece.covered
            )
        except OutboxTaken as exc:
            logger.info(
                "another run is publishing this; left to it and the next run",
                extra={"region": piece.where[0], "subject": piece.subject},
            )
            sent.not_recorded = exc
            return []
        except SnapshotUnavailable as exc:
            sent.not_recorded = exc  # not recorded, so not published: found again next run
            # A stall report tells no transition and needs no outbox: it goes all the same.
            return [j for j in everything if not piece.groups[j].transitions]
        return everything

    def _publish(self, found: Sequence[Notice[LetterKey]]) -> list[PublishRefused | None]:
        report = self._report
        contexts = [self._messages.for_groups(n.groups) for n in found]
        copies = [copies_of(n, c, self._routes) for n, c in zip(found, contexts, strict=True)]
        outcomes = self._courier.publish(copies)
        for notice, context, message, outcome in zip(
            found, contexts, copies, outcomes, strict=True
        ):
            if outcome is not None:
                report.publish_failed(message[0].group_key, outcome)
                continue
            report.delivered(notice.groups)
            by_region: dict[tuple[str, str], list[Group]] = defaultdict(list)
            for group in notice.groups:
                by_region[(group.region, group.admin_account)].append(group)
            for where, groups in by_region.items():
                report.events(self._courier.put_events(groups, context, where))
        return outcomes

    def _take_back(self, piece: Piece, sent: Sent, entities: set[EntityId]) -> None:
        if piece.told and sent.outbox is not None and sent.not_recorded is None:
            sent.outbox = self._courier.take_back(
                piece.where, piece.subject, sent.outbox, piece.loaded, entities
            )
            if not sent.unconfirmed:
                # Its every other message SNS took: what it still covers, subscribers have.
                sent.outbox = self._courier.mark_taken(piece.where, piece.subject, sent.outbox)
