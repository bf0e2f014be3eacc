"""Which deliveries a tick's faults left unconfirmed, read from the requests the fault proxy saw.

Pure: the proxy's record of one tick (its exchanges, in the order they arrived) in, a list of
`Unconfirmed` out. The scorer (chaos.score) explains a duplicate only by one of these, on the
entity the duplicate repeats:

- SNS answered a publish with a 5xx: it may have taken the message all the same (a lost answer
  is one, and botocore's retry then publishes it again), so the notifier keeps what it told in
  the outbox and may tell it again. Concerns the transitions of the messages in that request.
  A 4xx (throttling) is a certain refusal; so is an entry a PublishBatch answer lists as failed.
  It leaves the message unconfirmed only when another copy of it reached its own topic, and the
  run did not publish the refused copy again, taken, in the same tick.
  A message has a copy per rendering's topic (text, JSON, chat), each with the same subject and
  attributes; what it is about is read from its JSON copy, so a fault on any copy names it.
- DynamoDB answered a write of the snapshot with an error (injected, or its own conditional check
  failure when the write met another one) after a publish SNS took or may have taken: the commit
  that would have confirmed it. Concerns the entities of those publishes whose state that item
  holds (docs/design.md, "The snapshot": a rule's or pack's member chunks hold its member
  accounts; the region's records its rules, packs and account packs; an outbox the statuses of
  its subject). An outbox written although its writer heard it failed (a lost answer) stands in
  the table: it concerns the entities it names, published or not.
- A kill after which an outbox the killed run wrote was still in the table: it had told, or was
  about to tell, what the outbox names, and could not confirm it.
- Two overlapping runs that both published an entity.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from chaos.score import Unconfirmed, deliveries
from chaos.timeline import Fault
from chaos.world import MEMBER_KIND, PARENT_KIND, Key
from config_notifier.render_notice import NOTICE_SCHEMA
from config_notifier.stored import MEMBER_CHUNK, OUTBOX, REGION_CHUNK, SINGLES, TAKEN
from config_notifier.wording import SCHEMA
from sandbox.fault_proxy import Exchange, successful_entries

_MEMBER_OF = {PARENT_KIND[k]: MEMBER_KIND[k] for k in PARENT_KIND}
_MEMBER_KINDS = frozenset(MEMBER_KIND.values())
_PUBLISH = ("Publish", "PublishBatch")
_WRITES = ("PutItem", "DeleteItem")
_SNS_NS = "{http://sns.amazonaws.com/doc/2010-03-31/}"
_OK = 200
_SERVER_ERROR = 500
_BATCH_FIELD = re.compile(r"^PublishBatchRequestEntries\.member\.(\d+)\.(.+)$")
_ATTRIBUTE = re.compile(r"^MessageAttributes\.entry\.(\d+)\.(Name|Value\.StringValue)$")


def unconfirmed(
    exchanges: Sequence[Exchange],
    faults: Sequence[Fault] = (),
    *,
    killed: bool = False,
    overlap: bool = False,
) -> list[Unconfirmed]:
    """What one tick's runs left unconfirmed. `faults`: the tick's faults, to name the one that
    failed a request; `killed`: a kill landed mid-run; `overlap`: two runs ran at once."""
    about = _message_keys(exchanges)
    found = [*_publish_faults(exchanges, faults, about), *_write_faults(exchanges, faults, about)]
    if killed:
        left = frozenset(key for keys in _outboxes_left(exchanges).values() for key in keys)
        if left:
            found.append(Unconfirmed("kill", left))
    if overlap:
        both = frozenset(key for key, runs in _takers(exchanges).items() if len(runs) > 1)
        if both:
            found.append(Unconfirmed("overlap", both))
    return found


def _publishes(exchanges: Iterable[Exchange]) -> Iterator[Exchange]:
    for exchange in exchanges:
        if exchange.request.service == "sns" and exchange.request.operation in _PUBLISH:
            yield exchange


def _publish_faults(
    exchanges: Sequence[Exchange], faults: Sequence[Fault], about: Mapping[_Message, frozenset[Key]]
) -> Iterator[Unconfirmed]:
    """A publish SNS may have taken (a 5xx), and a copy surely refused on one topic while
    another copy of its message reached its own topic: either way the notifier publishes the
    message again, and a subscriber who heard it hears it twice."""
    refused: list[tuple[Exchange, str, _Message]] = []
    delivered: set[_Message] = set()  # messages SNS took, or may have taken, on some topic
    taken_on: set[tuple[str, _Message]] = set()  # (topic, message) SNS took
    for exchange in _publishes(exchanges):
        took, maybe, surely_not = _answers(exchange)
        topic = exchange.request.form().get("TopicArn", "")
        delivered.update(took, maybe)
        taken_on.update((topic, message) for message in took)
        refused.extend((exchange, topic, message) for message in surely_not)
        keys = frozenset(key for message in maybe for key in about[message])
        if keys:
            yield Unconfirmed(_cause(exchange, faults), keys)
    for exchange, topic, message in refused:
        # Unless the run published it again on that topic, and SNS took it then.
        if message in delivered and (topic, message) not in taken_on and about[message]:
            yield Unconfirmed(_cause(exchange, faults), about[message])


def _write_faults(
    exchanges: Sequence[Exchange], faults: Sequence[Fault], about: Mapping[_Message, frozenset[Key]]
) -> Iterator[Unconfirmed]:
    """A snapshot write that failed after a publish SNS took or may have taken (see
    `_commit_keys`)."""
    published: set[Key] = set()  # so far: entities in a message SNS took or may have taken
    for exchange in exchanges:
        request = exchange.request
        if request.service == "sns" and request.operation in _PUBLISH:
            took, maybe, _ = _answers(exchange)
            published.update(key for message in (*took, *maybe) for key in about[message])
        elif request.service == "dynamodb" and request.operation in _WRITES:
            keys = (
                _commit_keys(exchange, exchanges, published) if _status(exchange) != _OK else None
            )
            if keys:
                yield Unconfirmed(_cause(exchange, faults), keys)


def _takers(exchanges: Sequence[Exchange]) -> Mapping[Key, set[str]]:
    """Each entity SNS took a JSON copy of, and the runs that published it."""
    takers: dict[Key, set[str]] = defaultdict(set)
    for exchange in _publishes(exchanges):
        for doc in _taken(exchange):
            for d in deliveries(0, 0, doc):
                takers[d.key].add(doc["run_id"])
    return takers


def _commit_keys(
    failed: Exchange, exchanges: Sequence[Exchange], published: Iterable[Key]
) -> frozenset[Key]:
    """The entities a failed snapshot write leaves unconfirmed: those published before it whose
    state its item holds (the commit that would have confirmed them), and, when the write
    happened although its writer heard it fail (a lost answer), those its outbox names."""
    item = _item(failed)
    candidates = set(published)
    if failed.injected is not None and failed.injected.applied:
        candidates |= _outbox_keys(item, exchanges)
    pk, sk = _item_key(item)
    return frozenset(key for key in candidates if confirms(pk, sk, key))


def confirms(pk: str, sk: str, key: Key) -> bool:
    """Whether the snapshot item pk/sk holds `key`'s state, or the record of its delivery."""
    region, kind, name, _ = key
    member = kind in _MEMBER_KINDS
    if pk.startswith("M#"):
        scope, parent_kind, parent = [*pk.removeprefix("M#").split("#", 2), "", ""][:3]
        return (
            sk.startswith(MEMBER_CHUNK)
            and _region(scope) == region
            and _MEMBER_OF.get(parent_kind) == kind
            and parent == name
        )
    if not pk.startswith("R#") or _region(pk.removeprefix("R#")) != region:
        return False
    if sk.startswith(REGION_CHUNK):
        return not member
    if not sk.startswith((OUTBOX, TAKEN)):
        return False
    # An outbox, or the mark that SNS took its messages: either tells the next run about them.
    if sk.startswith(OUTBOX):
        subject = sk.removeprefix(OUTBOX)
    else:
        subject = sk.removeprefix(TAKEN).rpartition("@")[0]
    if subject.startswith(SINGLES):
        return not member  # account packs, and rules and packs removed
    parent_kind, _, rest = subject.partition("#")
    return rest.split("#", 1)[0] == name and kind in (parent_kind, _MEMBER_OF.get(parent_kind))


def _region(scope: str) -> str:
    """The region of a partition's scope, "<region>" or "<region>@<administrator>"."""
    return scope.split("@", 1)[0]


# A message's identity on every topic it is published to: each rendering's copy carries the
# same subject and message attributes (its audience among them); only its body differs.
_Message = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class _Entry:
    """One message of a Publish (id "") or of a PublishBatch (its entry Id)."""

    id: str
    message: _Message
    body: str

    @property
    def document(self) -> dict[str, Any] | None:
        """The transition or notice document, when this is the JSON topic's copy (the text
        topic's body is not JSON; the chat topic's is no transition document)."""
        try:
            document = json.loads(self.body)
        except ValueError:
            return None
        # About one rule or pack in one region, or a notice of several (its `groups`).
        if isinstance(document, dict) and document.get("schema") in (SCHEMA, NOTICE_SCHEMA):
            return document
        return None


def _entries(form: Mapping[str, str]) -> list[_Entry]:
    """Each message of a Publish or PublishBatch form."""
    fields: dict[str, dict[str, str]] = defaultdict(dict)  # entry number -> its own fields
    for name, value in form.items():
        match = _BATCH_FIELD.match(name)
        if match is not None:
            fields[match.group(1)][match.group(2)] = value
        elif name in ("Subject", "Message") or name.startswith("MessageAttributes."):
            fields[""][name] = value
    entries = []
    for number, own in fields.items():
        if "Message" not in own:
            continue
        attributes = _attributes(own)
        entry_id = own.get("Id", "") if number else ""
        entries.append(_Entry(entry_id, (own.get("Subject", ""), attributes), own["Message"]))
    return entries


def _attributes(fields: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """(name, value) of each message attribute among one message's form fields, sorted."""
    names: dict[str, str] = {}
    values: dict[str, str] = {}
    for name, value in fields.items():
        match = _ATTRIBUTE.match(name)
        if match is not None:
            (names if match.group(2) == "Name" else values)[match.group(1)] = value
    return tuple(sorted((names[n], values.get(n, "")) for n in names))


def _answers(exchange: Exchange) -> tuple[list[_Message], list[_Message], list[_Message]]:
    """The messages of a publish SNS took, may have taken (a 5xx: its answer may be lost), and
    surely refused (a 4xx, or an entry a PublishBatch answer lists as failed)."""
    took, maybe, refused = _answered(exchange)
    return [e.message for e in took], [e.message for e in maybe], [e.message for e in refused]


def _answered(exchange: Exchange) -> tuple[list[_Entry], list[_Entry], list[_Entry]]:
    """The entries of a publish, as `_answers` sorts their messages."""
    status, entries = _status(exchange), _entries(exchange.request.form())
    if status >= _SERVER_ERROR:
        return [], entries, []
    if status != _OK:
        return [], [], entries
    if exchange.request.operation == "Publish":
        return entries, [], []
    assert exchange.response is not None  # noqa: S101 - a status came with it
    took = {entry_id for entry_id, _ in successful_entries(exchange.response.body)}
    return [e for e in entries if e.id in took], [], [e for e in entries if e.id not in took]


def _message_keys(exchanges: Iterable[Exchange]) -> Mapping[_Message, frozenset[Key]]:
    """The entities each message published in `exchanges` is about, read from its JSON topic's
    copy, whatever SNS answered to it: so a fault on any topic's copy names them."""
    about: dict[_Message, frozenset[Key]] = defaultdict(frozenset)
    for exchange in exchanges:
        if exchange.request.service != "sns" or exchange.request.operation not in _PUBLISH:
            continue
        for entry in _entries(exchange.request.form()):
            document = entry.document
            if document is not None:
                keys = frozenset(d.key for d in deliveries(0, 0, document))
                about[entry.message] = about[entry.message] | keys
    return about


def _taken(exchange: Exchange) -> list[dict[str, Any]]:
    """The documents of the JSON topic's copies SNS took (a 200, and its entry not failed)."""
    took, _, _ = _answered(exchange)
    return [doc for e in took if (doc := e.document) is not None]


def _status(exchange: Exchange) -> int:
    # No answer: moto could not be reached, and the client heard a 502.
    return exchange.response.status if exchange.response is not None else 502


def _item(exchange: Exchange) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exchange.request.body or b"{}")
    item: dict[str, Any] = body.get("Item") or body.get("Key") or {}
    return item


def _item_key(item: Mapping[str, Any]) -> tuple[str, str]:
    return item.get("pk", {}).get("S", ""), item.get("sk", {}).get("S", "")


def _outbox_keys(item: Mapping[str, Any], exchanges: Iterable[Exchange]) -> frozenset[Key]:
    """The entities an outbox head names (with its pieces, written before it in `exchanges`);
    none for any other item."""
    if "generation" not in item or not item.get("sk", {}).get("S", "").startswith(OUTBOX):
        return frozenset()
    generation, subject = item["generation"]["S"], item["subject"]["S"]
    pieces = sorted(
        (piece["sk"]["S"], piece["told"]["S"])
        for e in exchanges
        if e.request.service == "dynamodb" and e.request.operation == "PutItem"
        for piece in [_item(e)]
        if piece.get("piece_of", {}).get("S") == generation
        and piece.get("subject", {}).get("S") == subject
        and _item_key(piece)[0] == _item_key(item)[0]
    )
    text = item["told"]["S"] + "".join(chunk for _, chunk in pieces)
    region = _region(item["pk"]["S"].removeprefix("R#"))
    return frozenset(
        (region, kind, name, account or "") for kind, name, account, *_ in json.loads(text)
    )


def _outboxes_left(exchanges: Sequence[Exchange]) -> dict[tuple[str, str], frozenset[Key]]:
    """The outbox heads written and not removed again (each as the last write left it)."""
    left: dict[tuple[str, str], frozenset[Key]] = {}
    for exchange in exchanges:
        request = exchange.request
        if request.service != "dynamodb" or _status(exchange) != _OK:
            continue
        item = _item(exchange)
        if request.operation == "PutItem":
            keys = _outbox_keys(item, exchanges)
            if keys:
                left[_item_key(item)] = keys
        elif request.operation == "DeleteItem":
            left.pop(_item_key(item), None)
    return left


def _cause(exchange: Exchange, faults: Sequence[Fault]) -> str:
    """The fault kind whose rule failed the request, else the service's own error code (say, a
    retried write meeting the one whose answer was lost)."""
    rule = exchange.injected
    if rule is not None:
        for fault in faults:
            if rule in fault.proxy:
                return fault.kind
    return f"{exchange.request.service} {_error_code(exchange)} (not injected)"


def _error_code(exchange: Exchange) -> str:
    response = exchange.response
    if response is None:
        return "no answer"
    if exchange.request.service == "dynamodb":
        kind = json.loads(response.body or b"{}").get("__type", "")
        return str(kind).rpartition("#")[2] or str(response.status)
    try:
        # The proxy's or moto's own XML answer on 127.0.0.1, not untrusted input.
        root = ElementTree.fromstring(response.body)  # noqa: S314
    except ElementTree.ParseError:
        return str(response.status)
    return root.findtext(f".//{_SNS_NS}Code") or str(response.status)
