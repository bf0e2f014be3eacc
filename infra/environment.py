"""The function's environment: the variables `Settings.from_env` reads, and Lambda's 4 KB for them.

Lambda's quotas: "Function environment variables: 4 KB, for all environment variables associated
with the function, in aggregate" (docs/synth-checks.md). Lambda's refusal quotes the string it
measured, the variables as one JSON object; that JSON is what is counted here, in UTF-8 bytes,
which is never less than the names and values alone. The table name and topic ARN are generated
by CloudFormation at deploy time, so their longest possible form is counted.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING

from config_notifier.mute import to_json
from config_notifier.settings import Settings
from infra.regions import longest_partition_name, longest_region_name

if TYPE_CHECKING:
    from infra.config import AppConfig

LIMIT_BYTES = 4 * 1024
# DynamoDB table names are 3-255 characters; SNS topic names at most 256.
MAX_TABLE_NAME = 255
MAX_TOPIC_NAME = 256
# The variables each context key sets, to say which keys take the room.
CONTEXT_KEY_OF = {
    "REGIONS": "regions",
    "MUTES": "mutes",
    "DELEGATED_ADMIN_ROLE_ARNS": "delegatedAdmins",
    "EVENT_BUS_NAME": "eventBusName",
}


def function_environment(config: AppConfig, *, table_name: str, topic_arn: str) -> dict[str, str]:
    """The variables `Settings.from_env` reads, every one of them and nothing else."""
    code_defaults = {f.name: f.default for f in fields(Settings)}
    values = {
        "snapshot_table_name": table_name,
        "topic_arn": topic_arn,
        "regions": ",".join(config.regions),
        "baseline_mode": config.baseline_mode.value,
        "max_concurrency": str(config.max_concurrency),
        "full_reconcile_hours": str(config.full_reconcile_hours),
        "stuck_after_minutes": str(config.stuck_after_minutes),
        "account_names_refresh_hours": str(config.account_names_refresh_hours),
        "reminder_hours": str(config.reminder_hours),
        "mutes": to_json(config.mutes),
        "event_bus_name": config.event_bus_name,
        "delegated_admin_role_arns": ",".join(config.delegated_admin_role_arns),
        # Not deployment choices: set to the code's defaults so the console shows what is in use.
        "max_attempts": str(code_defaults["max_attempts"]),
        "time_budget_seconds": str(code_defaults["time_budget_seconds"]),
    }
    environment = {name.upper(): value for name, value in values.items()}
    if set(environment) != set(Settings.env_names()):
        raise RuntimeError(
            "The stack and the function disagree on its environment: the code reads "
            f"{sorted(Settings.env_names())}, the stack sets {sorted(environment)}"
        )
    return environment


def measured_size(environment: dict[str, str]) -> int:
    """Bytes of the variables as the JSON object Lambda measures."""
    return len(json.dumps(environment, separators=(",", ":"), ensure_ascii=False).encode())


def size_problem(config: AppConfig) -> str | None:
    """Why the function's environment would not fit Lambda's 4 KB, naming the keys that take
    the room, or None. The generated table name and topic ARN are counted at their longest."""
    longest_topic_arn = (
        f"arn:{'p' * longest_partition_name()}:sns:{'r' * longest_region_name()}:"
        f"{'0' * 12}:{'t' * MAX_TOPIC_NAME}"
    )
    environment = function_environment(
        config, table_name="t" * MAX_TABLE_NAME, topic_arn=longest_topic_arn
    )
    size = measured_size(environment)
    if size <= LIMIT_BYTES:
        return None
    shares = sorted(
        ((key, measured_size({name: environment[name]})) for name, key in CONTEXT_KEY_OF.items()),
        key=lambda share: -share[1],
    )
    listed = ", ".join(f"{key} {share:,} bytes" for key, share in shares)
    return (
        f"{', '.join(key for key, _ in shares[:2])}: the function's environment would be "
        f"{size:,} bytes, over Lambda's 4 KB ({LIMIT_BYTES:,} bytes) for all its variables "
        f"({listed}; {size - sum(s for _, s in shares):,} bytes for the rest, the generated "
        "table name and topic ARN counted at their longest); shorten them, e.g. name globs in "
        'mutes, for example "mutes": [{"name": "sandbox-*"}]'
    )
