"""Saved CloudWatch Logs Insights queries: what an operator asks of the notifier's logs.

Each query reads the fields the function really logs (Powertools JSON: `level`, `message`,
`correlation_id` and each line's extra keys; the run summary under `summary`) or, for transitions,
the events the function puts on its bus as the transition log keeps them (`detail.*`, see
infra/transition_log.py). tests/infra/test_operator_view.py runs each query over what a real run
logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

import aws_cdk.aws_logs as logs
from constructs import Construct

# Insights has no parameters: the query names an example account to replace.
EXAMPLE_ACCOUNT = "111122223333"


class Source(StrEnum):
    """Which log group a query reads."""

    FUNCTION = "function"  # the function's own log group
    TRANSITIONS = "transitions"  # the transition log: one event per published transition


@dataclass(frozen=True, slots=True)
class SavedQuery:
    """One saved query: its construct id (and stack output name), its title, source and text."""

    id: str
    title: str
    source: Source
    text: str
    days: int  # the time range its console link opens with


# Run summaries (Powertools logs one "run finished" line with the summary), errors and warnings,
# and Lambda's own timeout line, newest first.
INSIGHTS_QUERY = (
    "fields @timestamp, level, message, correlation_id, summary.messages_published,"
    " summary.messages_failed, summary.failed_sources.0.reason, summary.duration_ms, exception"
    ' | filter message = "run finished" or level in ["ERROR", "WARNING"]'
    " or @message like /Task timed out/"
    " | sort @timestamp desc"
    " | limit 200"
)

RUNS = SavedQuery("Runs", "Runs and errors", Source.FUNCTION, INSIGHTS_QUERY, days=1)

ACCOUNT_TRANSITIONS = SavedQuery(
    "AccountTransitions",
    "Transitions of one account",
    Source.TRANSITIONS,
    f"# Every transition and stuck report of one account, as member or as the delegated\n"
    f"# administrator that deployed it. Replace {EXAMPLE_ACCOUNT} with the account id.\n"
    "fields @timestamp, detail.severity, detail.region, detail.kind, detail.name,"
    " detail.account_id, detail.account_name, detail.old.status, detail.new.status,"
    " detail.new.error_code, detail.new.error_message, detail.status.status,"
    " detail.admin_account, detail.run_id\n"
    f'| filter detail.account_id = "{EXAMPLE_ACCOUNT}"'
    f' or detail.admin_account = "{EXAMPLE_ACCOUNT}"\n'
    "| sort @timestamp desc\n"
    "| limit 1000",
    days=7,
)

FAILED_RUNS = SavedQuery(
    "FailedRuns",
    "Failed runs and why",
    Source.FUNCTION,
    "# Runs that failed or left work undone: the function's errors (a source unread, the\n"
    "# snapshot refused, events lost, bad settings), runs whose summary lists failed sources or\n"
    "# messages, and Lambda's timeouts.\n"
    "fields @timestamp, correlation_id, level, message, region, source, reason,"
    " delegated_admin, summary.failed_sources.0.region, summary.failed_sources.0.source,"
    " summary.failed_sources.0.reason, summary.messages_failed, @message\n"
    '| filter level = "ERROR" or ispresent(summary.failed_sources.0.reason)'
    " or summary.messages_failed > 0 or @message like /Task timed out/\n"
    "| sort @timestamp desc\n"
    "| limit 200",
    days=7,
)

MUTED = SavedQuery(
    "Muted",
    "What was muted",
    Source.FUNCTION,
    "# Transitions and stuck reports a mute kept from being published (committed all the same).\n"
    "fields @timestamp, region, kind, entity_name, account_id, severity, correlation_id\n"
    '| filter message = "muted: committed, not published"\n'
    "| sort @timestamp desc\n"
    "| limit 1000",
    days=7,
)

SAVED_QUERIES = (RUNS, ACCOUNT_TRANSITIONS, FAILED_RUNS, MUTED)


class SavedQueries(Construct):
    """The queries above as AWS::Logs::QueryDefinition, on the log groups they read."""

    def __init__(
        self, scope: Construct, construct_id: str, *, prefix: str, sources: dict[Source, str]
    ) -> None:
        super().__init__(scope, construct_id)
        # "folder/name": the console lists the queries in a folder named for the stack.
        self.names = {query.id: f"{prefix}/{query.title}" for query in SAVED_QUERIES}
        for query in SAVED_QUERIES:
            logs.CfnQueryDefinition(
                self,
                query.id,
                name=self.names[query.id],
                query_string=query.text,
                log_group_names=[sources[query.source]],
            )


def insights_console_url(
    region: str, log_group_name: str, query: str = INSIGHTS_QUERY, days: int = 1
) -> str:
    """A CloudWatch console link that opens Logs Insights with `query` on the log group, over
    the last `days` days."""

    # The console's own URL encoding: percent-encode, then write '%' as '*'.
    def encode(text: str) -> str:
        return quote(text, safe="").replace("%", "*")

    detail = (
        f"~(end~0~start~-{days * 86400}~timeType~'RELATIVE~unit~'seconds"
        f"~editorString~'{encode(query)}~source~(~'{log_group_name}))"
    )
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:logs-insights$3FqueryDetail$3D{detail}"
    )
