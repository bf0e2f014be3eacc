"""`config-notifier check --dry-run`: the next run as the deployed function would do it, told
instead of published, with nothing written.

It reads the deployed function's own configuration (the stack's FunctionName output, then
Lambda's GetFunctionConfiguration), so it applies exactly the regions, mutes, stuck threshold,
baseline mode and delegated administrators the function applies, and says which it used.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from config_notifier.delegated import DelegatedAdmin
from config_notifier.errors import PublishRefused
from config_notifier.handler import client_config_for
from config_notifier.model import EntityId, Message, Record
from config_notifier.mute import Mute
from config_notifier.read import utc_session
from config_notifier.routing import to_json as routes_json
from config_notifier.run import Dependencies, run
from config_notifier.settings import Settings
from config_notifier.snapshot import SnapshotStore
from config_notifier.stored import ChunkCommit, Chunked, Outbox, OutboxWrite, Reminded

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

DEFAULT_STACK = "ConfigDeploymentNotifier"
EXAMPLE = f"config-notifier check --dry-run --stack {DEFAULT_STACK} --region us-east-1"


class DryRunError(Exception):
    """The deployed configuration could not be read; says what to pass instead."""


@dataclass(frozen=True, slots=True)
class Deployed:
    """The function a stack deployed, and the settings it runs with."""

    stack: str
    region: str
    function_name: str
    settings: Settings

    def describe(self) -> dict[str, Any]:
        """What the dry run applies, as it says so to the operator."""
        s = self.settings
        return {
            "stack": self.stack,
            "function": self.function_name,
            "regions": list(s.regions),
            "baseline_mode": s.baseline_mode.value,
            "stuck_after_minutes": s.stuck_after_minutes,
            "mutes": [_mute_doc(m) for m in s.mutes],
            "delegated_admins": dict(s.delegated_admins),
            "routes": json.loads(routes_json(s.routes)),
        }


def _mute_doc(mute: Mute) -> dict[str, str]:
    criteria = {
        "account": mute.account,
        "name": mute.name,
        "severity": mute.severity.value if mute.severity else None,
        "until": mute.until.isoformat() if mute.until else None,
    }
    return {key: value for key, value in criteria.items() if value is not None}


def read_deployed(stack: str, region: str) -> Deployed:
    """The stack's function and its settings, parsed as the function parses them."""
    session = boto3.session.Session(botocore_session=utc_session(), region_name=region)
    try:
        found = session.client("cloudformation", region_name=region).describe_stacks(
            StackName=stack
        )
        outputs = {o["OutputKey"]: o["OutputValue"] for o in found["Stacks"][0].get("Outputs", [])}
        function = outputs.get("FunctionName")
        if function is None:
            raise DryRunError(
                f"the stack {stack!r} in {region} has no FunctionName output: is it this "
                f"notifier's stack? For example: {EXAMPLE}"
            )
        configuration = session.client("lambda", region_name=region).get_function_configuration(
            FunctionName=function
        )
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise DryRunError(
            f"cannot read the deployed notifier of stack {stack!r} in {region}: {message}. "
            f"Pass the stack name you deployed and its region, for example: {EXAMPLE}"
        ) from exc
    environment = configuration.get("Environment", {}).get("Variables", {})
    return Deployed(stack, region, function, Settings.from_env(environment))


def dry_run(
    deployed: Deployed, now: datetime | None = None
) -> tuple[list[Message], dict[str, Any]]:
    """The messages the next run would publish (at `now`, default the clock's time; each copy for
    a route too), and its summary; nothing is published or written.

    Account names are not listed (a listing would refresh the cached copy): messages show ids.
    """
    settings = deployed.settings
    config = client_config_for(settings)
    core = utc_session()
    session = boto3.session.Session(botocore_session=core, region_name=deployed.region)
    sts: STSClient = session.client("sts", config=config)
    publisher = RecordingPublisher()
    clients = {
        region: session.client("config", region_name=region, config=config)
        for region in settings.regions
    }
    dynamodb = session.client("dynamodb", region_name=deployed.region, config=config)
    summary = run(
        settings,
        Dependencies(
            config_client=clients.__getitem__,
            snapshot=ReadOnlySnapshot(dynamodb, settings.snapshot_table_name),
            publisher=publisher,
            delegated_admins={
                account: DelegatedAdmin(arn, sts, core.get_component("data_loader"), config)
                for account, arn in settings.delegated_admins.items()
            },
        ),
        now=now or datetime.now(UTC),
        run_id=f"dry-run-{uuid.uuid4().hex[:8]}",
        deadline=time.monotonic() + 600,
    )
    return publisher.messages, summary


class RecordingPublisher:
    """Accepts every message and keeps each copy of it (one per audience): what the dry run shows
    instead of publishing."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def publish(self, messages: Sequence[Sequence[Message]]) -> list[PublishRefused | None]:
        self.messages.extend(copy for copies in messages for copy in copies)
        return [None] * len(messages)


class ReadOnlySnapshot(SnapshotStore):
    """Reads the deployed snapshot and pretends every write succeeded, so nothing changes."""

    def save_region(
        self, region: str, before: Chunked, after: Mapping[EntityId, Record], admin: str = ""
    ) -> ChunkCommit:
        return ChunkCommit()

    def save_members(
        self, parent: EntityId, before: Chunked, after: Mapping[EntityId, Record]
    ) -> ChunkCommit:
        return ChunkCommit()

    def mark_baselined(self, region: str, source: str, at: str, admin: str = "") -> None:
        return None

    def put_outbox(self, region: str, write: OutboxWrite, admin: str = "") -> tuple[str, ...]:
        return ()

    def delete_outbox(self, region: str, subject: str, outbox: Outbox, admin: str = "") -> bool:
        return True

    def mark_taken(self, region: str, subject: str, outbox: Outbox, admin: str = "") -> str:
        return ""

    def mark_reminded(self, region: str, reminded: Reminded, admin: str = "") -> None:
        return None
