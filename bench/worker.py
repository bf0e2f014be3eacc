"""The function's process in the benchmark: runs the real handler once per line on stdin
(with --reference: only the requests a steady run makes, to measure the handler's own share).

Like a Lambda execution environment, it stays up between runs (the first run is cold, the rest
warm) and reports each run's wall time, counts and its peak resident memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench import instrument

RESULT = "BENCH-RESULT "


@dataclass(frozen=True)
class Context:
    remaining_ms: int
    function_name: str = "config-deployment-notifier"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:111111111111:function:bench"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def peak_rss_kb() -> int:
    """This process's own peak resident memory, in KiB.

    Linux's VmHWM belongs to the process's address space, which exec replaces. getrusage's
    ru_maxrss does not start again at exec: a worker forked from the benchmark (which holds the
    whole simulated organization) would report the benchmark's size, not its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reference_survey() -> Callable[[], dict[str, Any]]:
    """The requests of a steady run and nothing else, through clients set up as the handler sets
    up its own: every list page of every region and each region's snapshot query, in the same
    order and concurrency, with no observations built, no snapshot decoded and nothing diffed.
    What boto3 and the sandbox take for the calls alone; the handler's own work is the rest."""
    import boto3  # noqa: PLC0415 - the worker imports what its mode needs

    from config_notifier import handler  # noqa: PLC0415
    from config_notifier.read import (  # noqa: PLC0415
        ACCOUNT_PACK_PAGE_LIMIT,
        ORG_PAGE_LIMIT,
        utc_session,
    )

    current = handler.settings()
    session = boto3.session.Session(botocore_session=utc_session())
    tuned = handler.client_config_for(current)
    config = {r: session.client("config", region_name=r, config=tuned) for r in current.regions}
    dynamodb = session.client("dynamodb", config=tuned)
    pool = ThreadPoolExecutor(max_workers=current.max_concurrency)

    def pages(call: Callable[..., Any], limit: int) -> int:
        request: dict[str, Any] = {"Limit": limit}
        count = 1
        while token := call(**request).get("NextToken"):
            request["NextToken"] = token
            count += 1
        return count

    def query(region: str) -> int:
        return len(
            dynamodb.query(
                TableName=current.snapshot_table_name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"R#{region}"}},
                ConsistentRead=True,
            )["Items"]
        )

    def survey() -> dict[str, Any]:
        regions = current.regions
        started = [
            pool.submit(pages, config[r].describe_conformance_pack_status, ACCOUNT_PACK_PAGE_LIMIT)
            for r in regions
        ]
        loads = [pool.submit(query, r) for r in regions]
        started += [
            pool.submit(pages, call, ORG_PAGE_LIMIT)
            for r in regions
            for call in (
                config[r].describe_organization_config_rule_statuses,
                config[r].describe_organization_conformance_pack_statuses,
            )
        ]
        return {
            "api_calls": sum(f.result() for f in started),
            "items_loaded": sum(f.result() for f in loads),
        }

    return survey


def main() -> int:
    instrument.install()
    from config_notifier import handler  # noqa: PLC0415 - after the counting session is in

    reference = reference_survey() if "--reference" in sys.argv[1:] else None
    for line in sys.stdin:
        command = json.loads(line)
        instrument.reset()
        started = time.perf_counter()
        summary = (
            reference()
            if reference is not None
            else handler.lambda_handler(
                {"id": command["id"]}, Context(remaining_ms=command["remaining_ms"])
            )
        )
        wall = time.perf_counter() - started
        peak_kb = peak_rss_kb()
        result = {
            "wall_s": wall,
            "summary": summary,
            "counts": instrument.snapshot(),
            "peak_rss_mib": peak_kb / 1024,
        }
        print(RESULT + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
