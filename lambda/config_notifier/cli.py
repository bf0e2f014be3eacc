"""The operator's command line: the notifier's own reading code, with the standard credential chain.

config-notifier status --region us-east-1 --region eu-west-1 [--json]
config-notifier check --dry-run [--stack NAME] --region us-east-1 [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from config_notifier.dry_run import DEFAULT_STACK, DryRunError, dry_run, read_deployed
from config_notifier.errors import SourceUnreadable
from config_notifier.model import EVERYONE, EntityId, Kind, Observation, Rendering
from config_notifier.read import (
    CallCounter,
    read_account_packs,
    read_members,
    read_org_packs,
    read_org_rules,
    utc_session,
)
from config_notifier.settings import SettingsError

EXIT_OK, EXIT_FAILING, EXIT_ERROR = 0, 1, 2

_NO_CREDENTIALS = (
    "No AWS credentials found. Configure them the usual way (aws configure, aws sso login, "
    "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) for the organization's management "
    "account, then run this again."
)


class CliError(Exception):
    """A problem the operator can fix; printed without a stack trace."""


@dataclass(frozen=True, slots=True)
class Row:
    region: str
    kind: Kind
    name: str
    status: str
    error: str
    failing_accounts: list[tuple[str, str, str]]  # account, status, error


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Entry point of the `config-notifier` command; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "status":
            return _status(args, out)
        return _check(args, out)
    except NoCredentialsError:
        print(f"error: {_NO_CREDENTIALS}", file=sys.stderr)
    except NoRegionError:
        print("error: no region given: pass --region (or set AWS_REGION).", file=sys.stderr)
    except (CliError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="config-notifier",
        description="AWS Config organization deployment status, read as the notifier reads it.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    status = commands.add_parser(
        "status", help="every organization rule and pack now, failing accounts first"
    )
    check = commands.add_parser(
        "check", help="what the next scheduled run would notify, without publishing or writing"
    )
    status.add_argument(
        "--region", action="append", required=True, help="a region to read (repeatable)"
    )
    check.add_argument(
        "--region", required=True, help="the region the stack is deployed in (it reads them all)"
    )
    for command in (status, check):
        command.add_argument("--json", action="store_true", help="print JSON instead of text")
    check.add_argument(
        "--dry-run",
        action="store_true",
        required=True,
        help="required: check never publishes or writes",
    )
    check.add_argument(
        "--stack",
        default=DEFAULT_STACK,
        help=f"the notifier's CloudFormation stack (default {DEFAULT_STACK})",
    )
    return parser


def _status(args: argparse.Namespace, out: TextIO) -> int:
    calls = CallCounter()
    rows: list[Row] = []
    for region in args.region:
        client = _client("config", region)
        for kind, reader in (
            (Kind.ORG_RULE, read_org_rules),
            (Kind.ORG_PACK, read_org_packs),
            (Kind.ACCOUNT_PACK, read_account_packs),
        ):
            for observation in _read(reader, client, region, calls, kind):
                failing = []
                if kind is not Kind.ACCOUNT_PACK and not observation.status.is_settled_ok:
                    members = _read_members(client, observation.entity, calls)
                    failing = [
                        (m.entity.account_id, m.status.status, _error(m))
                        for m in members
                        if m.status.is_failed
                    ]
                rows.append(
                    Row(
                        region,
                        kind,
                        observation.entity.name,
                        observation.status.status,
                        _error(observation),
                        failing,
                    )
                )
    rows.sort(key=lambda r: (not r.failing_accounts, not r.status.endswith("_FAILED"), r.region))
    if args.json:
        json.dump([_row_doc(r) for r in rows], out, indent=2)
        out.write("\n")
    else:
        _print_table(rows, out)
    return (
        EXIT_FAILING
        if any(r.failing_accounts or r.status.endswith("_FAILED") for r in rows)
        else EXIT_OK
    )


def _check(args: argparse.Namespace, out: TextIO) -> int:
    try:
        deployed = read_deployed(args.stack, args.region)
    except DryRunError as exc:
        raise CliError(str(exc)) from exc
    messages, summary = dry_run(deployed)
    applied = deployed.describe()
    if args.json:
        docs = [
            {
                "subject": m.subject,
                "audience": m.audience,
                "attributes": m.attributes,
                "document": json.loads(m.body(Rendering.JSON)),
            }
            for m in messages
        ]
        json.dump({"configuration": applied, "messages": docs, "summary": summary}, out, indent=2)
        out.write("\n")
        return EXIT_OK
    _print_configuration(applied, out)
    for message in messages:
        to = "" if message.audience == EVERYONE else f" (to route {message.audience})"
        out.write(f"=== {message.subject}{to}\n{message.body(Rendering.TEXT)}\n\n")
    routed = sum(1 for m in messages if m.audience != EVERYONE)
    out.write(
        f"{len(messages)} message(s) would be published"
        + (f" ({routed} of them for routes)" if routed else "")
        + "; "
        f"{len(summary['failed_sources'])} source(s) could not be read; "
        f"{summary['muted']} held back by mutes.\n"
    )
    for failure in summary["failed_sources"]:
        out.write(f"  unread: {failure['region']} {failure['source']}: {failure['reason']}\n")
    return EXIT_OK


def _print_configuration(applied: Mapping[str, Any], out: TextIO) -> None:
    """Which configuration the dry run applied: the deployed function's own."""
    out.write(f"Using the configuration of {applied['function']} (stack {applied['stack']}):\n")
    out.write(f"  regions: {', '.join(applied['regions'])}\n")
    out.write(f"  stuck after: {applied['stuck_after_minutes']} minutes (0: off)\n")
    out.write(f"  baseline mode: {applied['baseline_mode']}\n")
    mutes = applied["mutes"] or ["none"]
    out.write(f"  mutes: {'; '.join(str(m) for m in mutes)}\n")
    admins = applied["delegated_admins"] or {"none": ""}
    out.write(f"  delegated administrators: {', '.join(admins)}\n")
    routes = [f"{r['name']} {json.dumps(r['match'])}" for r in applied["routes"]] or ["none"]
    out.write(f"  routes: {'; '.join(routes)}\n\n")


def _client(service: str, region: str) -> Any:
    config = Config(retries={"mode": "adaptive", "total_max_attempts": 8})
    session = boto3.session.Session(botocore_session=utc_session())
    return session.client(service, region_name=region, config=config)  # type: ignore[call-overload]


def _read(
    reader: Any, client: Any, region: str, calls: CallCounter, kind: Kind
) -> list[Observation]:
    try:
        result: list[Observation] = reader(client, region, calls)
    except SourceUnreadable as exc:
        _raise_if_credentials(exc)
        raise CliError(f"{region}: cannot read {kind.label}s: {exc.reason}") from exc
    return result


def _read_members(client: Any, parent: EntityId, calls: CallCounter) -> list[Observation]:
    try:
        return read_members(client, parent, calls)
    except SourceUnreadable as exc:
        raise CliError(
            f"{parent.region}: cannot read the member accounts of {parent.name}: {exc.reason}"
        ) from exc


def _raise_if_credentials(exc: SourceUnreadable) -> None:
    cause = exc.__cause__
    if isinstance(cause, NoCredentialsError):
        raise cause
    if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in (
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
    ):
        raise CliError(
            f"the AWS credentials were refused ({exc.reason}). {_NO_CREDENTIALS}"
        ) from exc
    if isinstance(cause, BotoCoreError):
        raise CliError(f"cannot reach AWS Config: {cause}") from exc


def _error(observation: Observation) -> str:
    status = observation.status
    return ": ".join(p for p in (status.error_code, status.error_message) if p)


def _row_doc(row: Row) -> dict[str, Any]:
    return {
        "region": row.region,
        "kind": row.kind.value,
        "name": row.name,
        "status": row.status,
        "error": row.error or None,
        "failing_accounts": [
            {"account_id": a, "status": s, "error": e or None} for a, s, e in row.failing_accounts
        ],
    }


def _short(text: str, width: int = 60) -> str:
    """A table cell; the full text is in --json and in the per-account lines."""
    return text if len(text) <= width else text[: width - 3] + "..."


def _print_table(rows: list[Row], out: TextIO) -> None:
    if not rows:
        out.write("No organization rules, organization packs or account packs in these regions.\n")
        return
    header = ("REGION", "KIND", "NAME", "STATUS", "FAILING", "ERROR")
    table = [
        (r.region, r.kind.value, r.name, r.status, str(len(r.failing_accounts)), _short(r.error))
        for r in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *table, strict=False)]
    for line in (header, *table):
        out.write(
            "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() + "\n"
        )
    for r in rows:
        for account, status, error in r.failing_accounts:
            out.write(f"  {r.region} {r.name}: {account} {status} {error}\n".rstrip() + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
