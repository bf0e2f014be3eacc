"""The function's process in the benchmark: `sandbox.lambda_process` with the request counters of
bench/instrument.py (with --reference: only the requests a steady run makes, to measure the
handler's own share).

Like a Lambda execution environment, it stays up between runs (the first run is cold, the rest
warm) and reports each run's wall time, counts and its peak resident memory.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import instrument
from sandbox.lambda_process import serve
from sandbox.lambda_runtime import Handler


def reference_survey() -> Handler:
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

    def survey(event: dict[str, Any], context: Any) -> dict[str, Any]:
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
    # The function is imported after the counting session is in.
    reference = reference_survey() if "--reference" in sys.argv[1:] else None
    return serve(reference, before=instrument.reset, measure=instrument.snapshot)


if __name__ == "__main__":
    sys.exit(main())
