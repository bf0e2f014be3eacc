"""Plain data the steps of a run hand to each other: observations, snapshot records, transitions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What an observation is the status of; the value is stored and sent to people."""

    ORG_RULE = "organization-rule"
    ORG_RULE_MEMBER = "organization-rule-member"
    ORG_PACK = "organization-pack"
    ORG_PACK_MEMBER = "organization-pack-member"
    ACCOUNT_PACK = "account-pack"

    @property
    def is_member(self) -> bool:
        return self in (Kind.ORG_RULE_MEMBER, Kind.ORG_PACK_MEMBER)

    @property
    def member_kind(self) -> Kind:
        """The kind of this organization entity's per-account records."""
        if self is Kind.ORG_RULE:
            return Kind.ORG_RULE_MEMBER
        if self is Kind.ORG_PACK:
            return Kind.ORG_PACK_MEMBER
        raise ValueError(f"{self} has no member accounts")

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Kind.ORG_RULE: "organization Config rule",
    Kind.ORG_RULE_MEMBER: "organization Config rule in a member account",
    Kind.ORG_PACK: "organization conformance pack",
    Kind.ORG_PACK_MEMBER: "organization conformance pack in a member account",
    Kind.ACCOUNT_PACK: "conformance pack",
}


class Severity(StrEnum):
    """How much a transition matters to a person; ordered worst first by `rank`."""

    FAILURE = "failure"
    STUCK = "stuck"  # in progress for longer than the threshold; no transition, a report
    RECOVERY = "recovery"
    PROGRESS = "progress"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.FAILURE: 0,
    Severity.STUCK: 1,
    Severity.RECOVERY: 2,
    Severity.PROGRESS: 3,
}


class Change(StrEnum):
    APPEARED = "appeared"
    CHANGED = "changed"
    DISAPPEARED = "disappeared"


@dataclass(frozen=True, slots=True)
class Status:
    """One deployment status as AWS Config reported it. Unknown status values are kept verbatim."""

    status: str
    error_code: str | None = None
    error_message: str | None = None
    updated_at: str | None = None  # AWS's last-update time, ISO 8601 UTC

    @property
    def is_failed(self) -> bool:
        return self.status.endswith("_FAILED")

    @property
    def is_in_progress(self) -> bool:
        return self.status.endswith("_IN_PROGRESS")

    @property
    def is_settled_ok(self) -> bool:
        """True when nothing is going on: deployed (or deleted) everywhere, no error."""
        return self.status.endswith(("_SUCCESSFUL", "_COMPLETE"))


@dataclass(frozen=True, slots=True)
class EntityId:
    """The identity of a watched thing, the same across runs."""

    region: str
    kind: Kind
    name: str
    account_id: str = ""  # set for member-account records only
    # The delegated administrator account that deployed it; "" for the account the notifier runs
    # in. A rule named "ops" of the management account and one of a delegated administrator are
    # two things: each account sees only its own.
    admin_account: str = ""

    @property
    def sort_key(self) -> str:
        """The snapshot's sort key inside the entity's partition."""
        return self.account_id if self.kind.is_member else f"{self.kind.value}#{self.name}"


@dataclass(frozen=True, slots=True)
class Observation:
    """What AWS Config says about one entity now."""

    entity: EntityId
    status: Status


@dataclass(frozen=True, slots=True)
class Record:
    """What the snapshot holds about one entity: its last delivered status and bookkeeping."""

    entity: EntityId
    status: Status
    first_seen: str
    last_changed: str
    detail_synced: str | None = None  # parents only: the parent state whose members were last read
    detail_read_at: str | None = None  # parents only: when the members were last read completely
    stuck_reported: str | None = None  # when this state was reported stuck; cleared when it moves


@dataclass(frozen=True, slots=True)
class Transition:
    """One entity moved between runs. `old` is None if it appeared, `new` if it disappeared."""

    entity: EntityId
    change: Change
    old: Status | None
    new: Status | None
    severity: Severity


@dataclass(frozen=True, slots=True)
class Stuck:
    """An entity in an *_IN_PROGRESS state for longer than the threshold, reported once.

    `since` is when the snapshot first saw it in this state. For an organization rule or pack,
    `member_statuses` counts its member accounts by status, and `members_finished` says that none
    of them is still in progress (the organization-level status lags behind).
    """

    entity: EntityId
    status: Status
    since: str
    member_statuses: tuple[tuple[str, int], ...] = ()
    members_finished: bool = False


@dataclass(slots=True)
class SourceFailure:
    """A source that could not be read completely this run: its entities are unknown, not gone."""

    region: str
    source: str
    reason: str
    admin_account: str = ""  # the delegated administrator whose source it is; "" for this account


@dataclass(frozen=True, slots=True)
class Group:
    """Everything one message tells: one organization rule or pack (or account pack) in one region.

    `parent` is the organization-level transition, if it moved; `current` its status now (None
    when it disappeared); `members` the member accounts that moved. `detail_read` is False when
    the member accounts could not be read this run, so the message can say so.
    """

    region: str
    kind: Kind
    name: str
    parent: Transition | None
    current: Status | None
    members: tuple[Transition, ...] = ()
    detail_read: bool = True
    stuck: tuple[Stuck, ...] = ()
    admin_account: str = ""  # the delegated administrator that deployed it; "" for this account

    @property
    def transitions(self) -> tuple[Transition, ...]:
        return ((self.parent,) if self.parent else ()) + self.members

    @property
    def severity(self) -> Severity:
        severities = [t.severity for t in self.transitions]
        severities += [Severity.STUCK] if self.stuck else []
        return min(severities, key=lambda s: s.rank)


# Who a copy of a message is for, in its `audience` message attribute: the stack's own subscribers
# get every message whole; each route's destinations a copy of what matches the route alone, under
# the route's name (routing.py, docs/messages.md "Routes").
EVERYONE = "all"
AUDIENCE_ATTRIBUTE = "audience"


class Rendering(StrEnum):
    """The three renderings of a message. Each is published to a topic of its own with
    MessageStructure String, the structure SNS delivers message attributes with, so subscription
    filter policies act on them (docs/design.md, "AWS facts it relies on")."""

    TEXT = "text"  # plain text a person reads: email
    CHAT = "chat"  # the AWS Chatbot custom notification: Slack and Microsoft Teams
    JSON = "json"  # the versioned JSON document: SQS, Lambda, HTTPS

    @property
    def body_key(self) -> str:
        """The key of its body in `Message.bodies`."""
        return _BODY_KEYS[self]


_BODY_KEYS = {Rendering.TEXT: "email", Rendering.CHAT: "https", Rendering.JSON: "sqs"}


@dataclass(frozen=True, slots=True)
class Message:
    """One message: a subject, its bodies, and attributes for subscription filters.

    `bodies` is keyed by the SNS protocol each body was first written for ("email", "https",
    "sqs"; "default" and "lambda" repeat two of them); `body` picks a rendering's.
    """

    subject: str
    bodies: dict[str, str]
    attributes: dict[str, str]
    group_key: str  # what the message is about; also the PublishBatch entry id (sanitized)
    audience: str = EVERYONE  # sent as the `audience` attribute

    def body(self, rendering: Rendering) -> str:
        return self.bodies[rendering.body_key]

    @property
    def sns_attributes(self) -> dict[str, str]:
        """The message attributes it is published with: its own and its audience."""
        return {**self.attributes, AUDIENCE_ATTRIBUTE: self.audience}

    def publish_size(self, rendering: Rendering) -> int:
        """Bytes SNS counts against its 256 KiB limit for the publish of one rendering (body,
        subject and attributes), the body counted as JSON text: escaped as SNS escapes it in the
        envelope it wraps the message in for SQS and Lambda."""
        return len(json.dumps(self.body(rendering)).encode()) + self._head_size

    @property
    def size(self) -> int:
        """At least the bytes of each of its publishes: every body together, subject and
        attributes; what docs/design.md rule 6 keeps under the limit."""
        return len(json.dumps(self.bodies).encode()) + self._head_size

    @property
    def _head_size(self) -> int:
        return len(self.subject.encode()) + sum(
            len(k.encode()) + len(v.encode()) + len(b"String")
            for k, v in self.sns_attributes.items()
        )
