"""No credential, secret or environment dump reaches the logs or the messages, on a bad day too."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from config_notifier import SERVICE
from config_notifier.settings import SettingsError

SECRET = "sEcReTkEy0123456789notforlogsEXAMPLE"  # moto accepts any key pair
TOKEN = "SeSsIoNtOkEn-notforlogs-EXAMPLE"
ACCOUNTS = [str(300_000_000_000 + i) for i in range(6)]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every line the notifier logs, formatted as Powertools writes it to CloudWatch."""
    logger = logging.getLogger(SERVICE)
    collect = _Collect()
    powertools = next((h for h in logger.handlers if h.formatter is not None), None)
    if powertools is not None:
        collect.setFormatter(powertools.formatter)
    logger.addHandler(collect)
    yield collect.lines
    logger.removeHandler(collect)


def test_secrets_stay_out_of_logs_and_messages_when_things_go_wrong(
    notifier: Any, config_sim: Any, log_lines: list[str]
) -> None:
    # Given credentials in the function's environment, as Lambda sets them
    secrets = {"AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN}
    config_sim.add_accounts(ACCOUNTS)
    for region in ("us-east-1", "eu-west-1"):
        config_sim.region(region).put_org_pack("ops-baseline", status="CREATE_SUCCESSFUL")
    notifier.run(**secrets)
    # And a bad day: a member fails, one region denies access, and SNS refuses every publish
    config_sim.region("us-east-1").set_member_status(
        "pack", "ops-baseline", ACCOUNTS[2], "CREATE_FAILED", "AccessDenied", "denied"
    )
    config_sim.set_fault(region="eu-west-1", access_denied=True)
    notifier.break_topic()
    failed = notifier.run(**secrets)
    # And settings so bad the function refuses to start
    with pytest.raises(SettingsError) as refused:
        notifier.run(**secrets, REGIONS="atlantis", MAX_CONCURRENCY="many")
    # When the topic is back and the next run delivers
    notifier.repair_topic()
    config_sim.clear_faults()
    delivered = notifier.run(**secrets)
    messages = [json.dumps(d.document) + d.subject for d in notifier.received()]
    # Then the runs did log, fail and deliver (so there was something to leak)
    assert failed["failed_sources"]
    assert failed["messages_failed"] >= 1
    assert delivered["messages_published"] >= 1
    assert messages
    assert log_lines
    # And neither the secret, the token, nor an environment dump appears anywhere
    everything = "\n".join([*log_lines, *messages, str(refused.value), str(failed)])
    for leaked in (SECRET, TOKEN, "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert leaked not in everything
