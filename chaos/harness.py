"""The notifier deployed into the sandbox, and its real handler run in-process or as a process.

A `Deployment` is what the CDK stack would create, made directly in moto: the snapshot table, the
topic and an SQS queue subscribed to it (the subscriber whose view is scored). `run_in_process`
calls the real `lambda_handler` with the function's environment, as tests/integration does;
`Worker` runs it in a process of its own, so that it can be killed mid-run or run twice at once.
"""

from __future__ import annotations

import io
import json
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import traceback
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3

from sandbox.resources import create_snapshot_table, subscribe_queue

ROOT = Path(__file__).resolve().parents[1]
# What keeps a real AWS setup out of the sandbox: no profile, no config files, no metadata calls.
ISOLATION = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
READY, GO, RESULT, ERROR = "CHAOS-READY", "CHAOS-GO", "CHAOS-RESULT ", "CHAOS-ERROR "


@dataclass(frozen=True)
class FakeContext:
    """What Lambda hands the handler; Powertools reads these fields."""

    function_name: str = "config-deployment-notifier"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:111111111111:function:config-deployment-notifier"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass(frozen=True)
class Delivery:
    """One message as an SQS subscriber of the topic receives it."""

    subject: str
    attributes: dict[str, str]
    document: dict[str, Any]
    size: int  # bytes of the SNS message (the JSON of every protocol's body)

    @property
    def is_transition(self) -> bool:
        return self.attributes.get("event_type") == "transition"


@dataclass(frozen=True)
class RunResult:
    """One invocation: its summary, or the exception that escaped it."""

    summary: dict[str, Any] | None
    error: str | None = None  # a traceback
    logs: tuple[dict[str, Any], ...] = ()  # structured log records (Powertools JSON)
    plain_logs: tuple[str, ...] = ()  # records that bypassed the structured logger
    killed: bool = False  # the process was killed before it finished


def sandbox_environment(sandbox_env: Mapping[str, str]) -> dict[str, str]:
    """The sandbox's endpoint variables plus the isolation from any real AWS setup."""
    return {**sandbox_env, **ISOLATION}


class Deployment:
    """The notifier's table, topic and a subscribed queue in moto; `env` is the function's."""

    def __init__(
        self, sandbox_env: Mapping[str, str], regions: tuple[str, ...], **settings: str
    ) -> None:
        self._base = sandbox_environment(sandbox_env)
        session = boto3.session.Session(
            aws_access_key_id=self._base["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self._base["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )
        endpoint = self._base["AWS_ENDPOINT_URL"]
        self.dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        self.sns = session.client("sns", endpoint_url=endpoint)
        self.sqs = session.client("sqs", endpoint_url=endpoint)
        suffix = uuid.uuid4().hex[:8]
        self.table = f"snapshot-{suffix}"
        create_snapshot_table(self.dynamodb, self.table)
        self.topic_arn = self.sns.create_topic(Name=f"deployments-{suffix}")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName=f"subscriber-{suffix}")["QueueUrl"]
        subscribe_queue(self.sns, self.sqs, self.topic_arn, self.queue_url)
        self.settings = {
            "SNAPSHOT_TABLE_NAME": self.table,
            "TOPIC_ARN": self.topic_arn,
            "REGIONS": ",".join(regions),
            **settings,
        }

    @property
    def env(self) -> dict[str, str]:
        """The function's environment: its settings and the way to the sandbox."""
        return {**self._base, **self.settings}

    def received(self) -> list[Delivery]:
        """Everything the queue got since the last call, oldest first."""
        deliveries: list[Delivery] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return deliveries
            for message in batch:
                envelope = json.loads(message["Body"])
                deliveries.append(
                    Delivery(
                        subject=envelope.get("Subject", ""),
                        attributes={
                            k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()
                        },
                        document=json.loads(envelope["Message"]),
                        size=len(envelope["Message"].encode()),
                    )
                )
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def items(self) -> list[dict[str, Any]]:
        """Every item of the snapshot table."""
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = self.dynamodb.scan(**request)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete(self) -> None:
        self.dynamodb.delete_table(TableName=self.table)
        self.sns.delete_topic(TopicArn=self.topic_arn)
        self.sqs.delete_queue(QueueUrl=self.queue_url)


def run_in_process(
    env: Mapping[str, str], run_id: str, *, warm: bool = False, remaining_ms: int = 300_000
) -> RunResult:
    """The real handler, once, in this process, with `env` as the function's environment.

    warm: reuse the settings and boto3 clients of the previous run, as a warm Lambda execution
    environment does (the caller must have run with the same `env`); else start cold.
    """
    from config_notifier import handler  # noqa: PLC0415 - the function's module, loaded on use

    if not warm:
        reset_function()
    # Powertools prints metrics (EMF) to stdout: keep them out of the chaos run's output.
    with (
        mock.patch.dict(os.environ, env),
        capture_logs() as (records, plain),
        redirect_stdout(io.StringIO()),
    ):
        summary: dict[str, Any] | None = None
        error: str | None = None
        try:
            summary = handler.lambda_handler(
                {"id": run_id, "detail-type": "Scheduled Event"},
                FakeContext(remaining_ms=remaining_ms),
            )
        except Exception:
            error = traceback.format_exc()
    # The records are complete once the capture has ended.
    return RunResult(summary, error, tuple(records), tuple(plain))


def reset_function() -> None:
    """Forget the function's cached settings and clients: the next run is a cold start."""
    from config_notifier import handler  # noqa: PLC0415

    handler.settings.cache_clear()
    handler.dependencies.cache_clear()


@contextmanager
def capture_logs() -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
    """The handler's structured log records, and any record that reached the root logger
    without going through the handler's structured logger (a plain line, not JSON)."""
    from config_notifier import handler  # noqa: PLC0415

    records: list[dict[str, Any]] = []
    plain: list[str] = []
    stream = io.StringIO()
    structured = stream_handler()
    previous = structured.setStream(stream)
    structured_logger = handler.logger._logger  # where the handler's records go

    class Stray(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if not _under(record.name, structured_logger.name):
                plain.append(f"{record.levelname} {record.name}: {record.getMessage()}")

    stray = Stray(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(stray)
    try:
        yield records, plain
    finally:
        root.removeHandler(stray)
        structured.setStream(previous)
        records += parse_log_lines(stream.getvalue())


def stream_handler() -> logging.StreamHandler[Any]:
    """The handler through which the function's structured logger writes its JSON lines."""
    from config_notifier import handler  # noqa: PLC0415

    registered = handler.logger.registered_handler
    if not isinstance(registered, logging.StreamHandler):
        raise TypeError(f"the function's logger writes through {registered!r}, not a stream")
    return registered


def _under(name: str, parent: str) -> bool:
    return name == parent or name.startswith(parent + ".")


def parse_log_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log records among `text`'s lines (metrics in EMF are left out)."""
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "level" in record:
            out.append(record)
    return out


class Worker:
    """The handler in a process of its own: started, told to go, waited for or killed."""

    def __init__(self, env: Mapping[str, str], run_id: str) -> None:
        self.run_id = run_id
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finish()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "chaos.worker"],
            cwd=ROOT,
            env={**_inherited(), **env, "PYTHONPATH": f"{ROOT / 'lambda'}{os.pathsep}{ROOT}"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    def ready(self, timeout: float = 60) -> None:
        """Wait until the worker imported the function (a cold start) and waits for go()."""
        line = self._readline(timeout)
        if line.strip() != READY:
            raise RuntimeError(f"worker did not start: {line!r} {self._stderr_tail()}")

    def go(self) -> None:
        stdin = self._process.stdin
        if stdin is None:
            raise RuntimeError("the worker has no stdin")
        stdin.write(f"{GO} {self.run_id}\n")
        stdin.flush()

    def running(self) -> bool:
        return self._process.poll() is None

    def kill(self) -> bool:
        """SIGKILL, as Lambda does at a timeout or a crash; True if it was still running."""
        alive = self.running()
        if alive:
            self._process.kill()
        return alive

    def finish(self, timeout: float = 120) -> RunResult:
        """Wait for the run's result (or for the killed process to be gone)."""
        try:
            out, _ = self._process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            out, _ = self._process.communicate()
            return RunResult(None, f"worker hung for {timeout} s", killed=True)
        finally:
            self._stderr.seek(0)
            logs = self._stderr.read().decode("utf-8", "replace")
            self._stderr.close()
        records = tuple(parse_log_lines(logs))
        plain = tuple(line for line in logs.splitlines() if line and not line.startswith("{"))
        for line in out.splitlines():
            if line.startswith(RESULT):
                return RunResult(json.loads(line[len(RESULT) :]), None, records, plain)
            if line.startswith(ERROR):
                return RunResult(None, json.loads(line[len(ERROR) :]), records, plain)
        if self._process.returncode is not None and self._process.returncode < 0:
            return RunResult(None, None, records, plain, killed=True)
        return RunResult(
            None, f"worker exited {self._process.returncode} without a result", records, plain
        )

    def _readline(self, timeout: float) -> str:
        stdout = self._process.stdout
        if stdout is None:
            raise RuntimeError("the worker has no stdout")
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                return ""
        return stdout.readline()

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-2000:]


def _inherited() -> dict[str, str]:
    """The parent's environment without anything that could reach a real AWS account."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
