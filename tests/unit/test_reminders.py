"""What a reminder digest lists, and how it is cut to fit (reminders.py, digest.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from config_notifier.digest import render_digest
from config_notifier.model import EntityId, Kind, Record, Severity, Status
from config_notifier.mute import Mute
from config_notifier.reminders import Policy, Reminder, latest
from config_notifier.stored import Reminded
from config_notifier.wording import MAX_MESSAGE_BYTES, MAX_SUBJECT, Context

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOURS_2 = timedelta(hours=2)
PACK = EntityId("us-east-1", Kind.ORG_PACK, "ops-baseline")
RULE = EntityId("eu-west-1", Kind.ORG_RULE, "required-tags", admin_account="111122223333")
LOCAL = EntityId("us-east-1", Kind.ACCOUNT_PACK, "local-guardrails")


def at(delta: timedelta) -> str:
    return (NOW - delta).isoformat(timespec="seconds")


def record(entity: EntityId, status: str, age: timedelta, code: str | None = None) -> Record:
    return Record(entity, Status(status, error_code=code), at(age), at(age))


def member(parent: EntityId, account: str, status: str, age: timedelta) -> Record:
    entity = EntityId(
        parent.region, parent.kind.member_kind, parent.name, account, parent.admin_account
    )
    return record(entity, status, age, "Failed" if status.endswith("FAILED") else None)


def policy(mutes: tuple[Mute, ...] = (), interval: timedelta = DAY) -> Policy:
    return Policy(interval, HOURS_2, mutes, NOW)


def listed(
    records: list[Record],
    members: dict[EntityId, list[Record]] | None = None,
    mutes: tuple[Mute, ...] = (),
) -> list[Reminder]:
    return policy(mutes).reminders({r.entity: r for r in records}, members or {})


def sent(age: timedelta) -> Reminded:
    """The marker of a digest SNS took `age` ago."""
    return Reminded(at(age), at(age))


FAILING_A_DAY = record(PACK, "CREATE_FAILED", DAY)


def test_a_digest_is_due_once_per_interval_and_never_when_off() -> None:
    # Given a pack failing for a day
    records = [FAILING_A_DAY]
    # Then a digest is due when none went out, or the last one an interval ago
    assert policy().due(None, records)
    assert policy().due(sent(DAY), records)
    # and not within the interval of the last one, nor when reminders are off
    assert not policy().due(sent(timedelta(hours=23)), records)
    assert not policy(interval=timedelta(0)).due(None, records)


def test_no_digest_is_due_when_no_rule_or_pack_is_overdue_by_its_own_record() -> None:
    # Given what every run loads: a settled pack, a rule updating for an hour, a pack failing
    # for less than a day, and no digest ever sent
    records = [
        record(PACK, "CREATE_SUCCESSFUL", 3 * DAY),
        record(RULE, "UPDATE_IN_PROGRESS", timedelta(hours=1)),
        record(LOCAL, "CREATE_FAILED", DAY - timedelta(minutes=1)),
    ]
    # Then no digest is due: nothing more needs reading
    assert not policy().due(None, records)


def test_a_look_that_found_nothing_to_send_is_not_repeated_within_the_interval() -> None:
    # Given a pack failing for two days whose failing accounts are all muted: the last look, an
    # hour ago, read its members and sent nothing
    old = record(PACK, "CREATE_FAILED", 2 * DAY)
    looked = Reminded(None, at(timedelta(hours=1)))
    # Then it is not looked at again within the interval
    assert not policy().due(looked, [old])
    assert policy().due(Reminded(None, at(DAY)), [old])
    # But a rule overdue since that look is looked at now
    newly = record(RULE, "CREATE_FAILED", DAY)
    assert policy().due(looked, [old, newly])
    # Unless a digest went out within the interval
    assert not policy().due(Reminded(at(timedelta(hours=1)), at(timedelta(hours=1))), [newly])


def test_the_newest_marker_of_the_regions_counts() -> None:
    # Given one region's marker from a digest a day ago, another's from a look since
    older, newer = sent(DAY), Reminded(None, at(timedelta(hours=1)))
    # Then the digest was sent a day ago and last looked at an hour ago
    assert latest([older, None, newer]) == Reminded(at(DAY), at(timedelta(hours=1)))
    assert latest([None, None]) is None


def test_an_organization_pack_unsettled_for_a_day_is_overdue_unless_muted_whole() -> None:
    # Given an organization pack updating for a day (its member accounts may be failing)
    updating = record(PACK, "UPDATE_IN_PROGRESS", DAY)
    # Then it is overdue, also when one account is muted
    assert policy().overdue(updating)
    assert policy((Mute(account="222200000001"),)).overdue(updating)
    # But not when its name is muted, or failures and stalls both are
    assert not policy((Mute(name="ops-*"),)).overdue(updating)
    both = (Mute(severity=Severity.FAILURE), Mute(name="ops-*", severity=Severity.STUCK))
    assert not policy(both).overdue(updating)
    assert policy((Mute(severity=Severity.FAILURE),)).overdue(updating)


def test_a_pack_failing_for_a_day_is_listed_with_its_failing_accounts() -> None:
    # Given a pack failing for a day in 2 of 3 accounts
    members = [
        member(PACK, "222200000001", "CREATE_FAILED", DAY),
        member(PACK, "222200000002", "CREATE_SUCCESSFUL", DAY),
        member(PACK, "222200000003", "CREATE_FAILED", DAY + HOURS_2),
    ]
    # When the digest is worked out
    [reminder] = listed([record(PACK, "CREATE_FAILED", DAY)], {PACK: members})
    # Then it lists the pack and its 2 failing accounts, the oldest first, since its state began
    assert reminder.deployment == PACK
    assert [b.entity.account_id for b in reminder.members] == ["222200000003", "222200000001"]
    assert reminder.since == at(DAY + HOURS_2)
    assert reminder.severity is Severity.FAILURE


def test_what_failed_less_than_an_interval_ago_is_not_listed_yet() -> None:
    assert listed([record(PACK, "CREATE_FAILED", DAY - timedelta(minutes=1))]) == []


def test_what_is_fine_or_only_briefly_in_progress_is_not_listed() -> None:
    records = [
        record(PACK, "CREATE_SUCCESSFUL", 3 * DAY),
        record(LOCAL, "CREATE_COMPLETE", 3 * DAY),
        record(RULE, "UPDATE_IN_PROGRESS", timedelta(hours=1)),
    ]
    assert listed(records) == []


def test_what_is_stuck_past_the_threshold_for_an_interval_is_listed_as_stuck() -> None:
    [reminder] = listed([record(LOCAL, "CREATE_IN_PROGRESS", DAY)])
    assert reminder.own is not None
    assert reminder.own.severity is Severity.STUCK


def test_a_muted_deployment_or_muted_accounts_are_left_out() -> None:
    members = {PACK: [member(PACK, "222200000001", "CREATE_FAILED", DAY)]}
    pack = record(PACK, "CREATE_FAILED", DAY)
    # A mute by name leaves the pack out
    assert listed([pack], members, (Mute(name="ops-*"),)) == []
    # A mute of its only failing account leaves it out too: its failure is that account's
    assert listed([pack], members, (Mute(account="222200000001"),)) == []
    # An expired mute no longer holds it back
    expired = Mute(name="ops-*", until=date(2026, 11, 1))
    assert [r.deployment for r in listed([pack], members, (expired,))] == [PACK]


def test_failures_come_before_stalls_and_the_oldest_first() -> None:
    records = [
        record(LOCAL, "CREATE_IN_PROGRESS", 3 * DAY),
        record(PACK, "CREATE_FAILED", DAY),
        record(RULE, "CREATE_FAILED", 2 * DAY),
    ]
    assert [r.deployment for r in listed(records)] == [RULE, PACK, LOCAL]


CONTEXT = Context("run-1", NOW.isoformat(timespec="seconds"), {"222200000001": "R&D <lab>"})


def test_the_digest_names_each_deployment_its_accounts_and_how_long() -> None:
    # Given a pack failing for a day in one account, and a delegated administrator's rule
    members = {PACK: [member(PACK, "222200000001", "CREATE_FAILED", DAY)]}
    found = listed(
        [record(PACK, "CREATE_FAILED", DAY), record(RULE, "CREATE_FAILED", 2 * DAY)], members
    )
    # When it is rendered
    message = render_digest(found, CONTEXT, interval=DAY)
    # Then the email names them, the account by name and id, and for how long
    text = message.bodies["email"]
    assert '"ops-baseline" in us-east-1' in text
    assert '"required-tags" in eu-west-1, delegated admin 111122223333' in text
    assert "R&D <lab> (222200000001)  CREATE_FAILED for 24 h 0 min (Failed)" in text
    assert message.subject == (
        "[REMINDER] 2 deployments still failing or stuck in 2 regions: required-tags, ops-baseline"
    )
    # And the chat card escapes what Slack reads as markup
    card = json.loads(message.bodies["https"])
    assert "R&amp;D &lt;lab&gt;" in card["content"]["description"]
    assert "<lab>" not in card["content"]["description"]
    # And the JSON document says which schema it is, and lists both
    doc = json.loads(message.bodies["sqs"])
    assert doc["schema"] == "config-deployment-notifier.reminder-digest"
    assert [d["name"] for d in doc["deployments"]] == ["required-tags", "ops-baseline"]
    assert message.attributes["event_type"] == "reminder"
    assert message.attributes["severity"] == "failure"


def test_a_pack_failing_in_two_regions_is_one_deployment_named_once() -> None:
    # Given one pack failing for a day in two regions
    us, eu = PACK, EntityId("eu-west-1", Kind.ORG_PACK, PACK.name)
    found = listed([record(us, "CREATE_FAILED", DAY), record(eu, "CREATE_FAILED", DAY)], {})
    # When it is rendered
    message = render_digest(found, CONTEXT, interval=DAY)
    # Then subject and email headline count one deployment in two regions, and name it once
    head = "[REMINDER] 1 deployment still failing or stuck in 2 regions"
    assert message.subject == f"{head}: ops-baseline"
    assert message.bodies["email"].startswith(f"{head}: ops-baseline (")
    assert message.bodies["email"].splitlines()[0].count("ops-baseline") == 1
    # And the document still lists it in each region
    doc = json.loads(message.bodies["sqs"])
    assert sorted(d["region"] for d in doc["deployments"]) == ["eu-west-1", "us-east-1"]


def test_a_huge_digest_fits_sns_and_says_how_much_it_left_out() -> None:
    # Given 100 packs failing for a day, each in 300 accounts with long errors
    long_error = "x" * 3_000
    records, members = [], {}
    for i in range(100):
        pack = EntityId("us-east-1", Kind.ORG_PACK, f"pack-{i:03d}-" + "n" * 40)
        records.append(record(pack, "CREATE_FAILED", DAY))
        members[pack] = [
            Record(
                EntityId("us-east-1", Kind.ORG_PACK_MEMBER, pack.name, f"{j:012d}"),
                Status("CREATE_FAILED", "Failed", long_error),
                at(DAY),
                at(DAY),
            )
            for j in range(300)
        ]
    found = listed(records, members)
    # When it is rendered
    message = render_digest(found, CONTEXT, interval=DAY)
    # Then it fits SNS, and each body says what it left out
    assert message.size <= MAX_MESSAGE_BYTES
    assert len(message.subject) <= MAX_SUBJECT
    assert message.subject == "[REMINDER] 100 deployments still failing or stuck"
    assert "... and " in message.bodies["email"]
    assert "more deployments" in message.bodies["email"]
    doc = json.loads(message.bodies["sqs"])
    assert doc["omitted_deployments"] + len(doc["deployments"]) == 100
    assert all(d["omitted_accounts"] + len(d["accounts"]) == 300 for d in doc["deployments"])
    assert "more deployments" in json.loads(message.bodies["https"])["content"]["description"]
