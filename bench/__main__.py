"""`python -m bench` (`make bench`): scale and speed of the real handler against the sandbox.

The sandbox (moto and the Config simulator, with a per-call latency) runs in this process; the
handler runs in a worker process of its own, as in Lambda, so its peak memory is its own.
Prints a table per scenario and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.costs import Measured, monthly_cost
from bench.scenarios import (
    S1,
    S2_FAILING,
    S2_PACK,
    S2_REGION,
    S3,
    UNHEALTHY_FILTERS,
    Shape,
    floor_seconds,
)
from config_notifier.snapshot import SnapshotStore
from infra import bundle
from infra.constants import HANDLER, MEMORY_MB, RUNTIME
from sandbox import ConfigSimulator, Sandbox
from sandbox.lambda_process import HandlerProcess
from sandbox.local_aws import SANDBOX_CREDENTIALS
from sandbox.moto_server import MotoProcess
from sandbox.notifier import Notifier
from sandbox.runtime_api import (
    FunctionConfiguration,
    FunctionProcess,
    RuntimeApi,
    XRayDaemon,
    lambda_environment,
    runtime_directory,
)
from sandbox.targets import Target

ROOT = Path(__file__).resolve().parents[1]
STEADY_REPEATS = 11
DETAIL_OPS = (
    "GetOrganizationConformancePackDetailedStatus",
    "GetOrganizationConfigRuleDetailedStatus",
)
FIFTEEN_MINUTES = 900.0
S5_RUNS = 6  # steady runs: the first warms the worker's clients, as after a cold start
MEMORY_LIMIT_MIB = 256


@dataclass
class Report:
    scenario: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    checks: list[Target] = field(default_factory=list)
    data: dict[str, float] = field(default_factory=dict)  # what the cost model needs

    def row(self, name: str, value: object) -> None:
        self.rows.append((name, str(value)))

    def check(self, name: str, measured: object, target: str, ok: bool) -> None:
        self.checks.append(Target(name, str(measured), target, ok))

    def print(self) -> None:
        print(f"\n## {self.scenario}")
        width = max([len(n) for n, _ in self.rows] + [len(c.name) for c in self.checks] + [10])
        for name, value in self.rows:
            print(f"  {name:<{width}}  {value}")
        for c in self.checks:
            print(f"  {c.name:<{width}}  {c.measured:<14} target {c.target:<22} {c.verdict}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process (all its threads, ended ones too) has used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Worker:
    """The handler's process (bench/worker.py): one run per request, warm after the first."""

    def __init__(self, env: dict[str, str], *, reference: bool = False) -> None:
        args = ["--reference"] if reference else []
        self._process = HandlerProcess(env, module="bench.worker", args=args)

    def run(self) -> dict[str, Any]:
        result = self._process.invoke(str(uuid.uuid4()))
        return {
            "summary": result.summary_or_raise(),
            "wall_s": result.duration_s,
            "counts": result.measured,
            "peak_rss_mib": result.peak_rss_mib,
        }

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        self._process.stop()


@contextmanager
def deployed(sandbox: Sandbox, shape: Shape, concurrency: int) -> Iterator[tuple[Notifier, Worker]]:
    """The simulator holding `shape`'s organization, a notifier watching it and its process."""
    sim = sandbox.config_sim
    sim.reset()
    sim.load_state(shape.state())
    notifier = Notifier(
        sandbox.env(),
        shape.regions,
        prefix="bench",
        MAX_CONCURRENCY=str(concurrency),
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    worker = Worker(notifier.env)
    try:
        yield notifier, worker
    finally:
        worker.stop()
        notifier.delete()


def config_calls(sim: ConfigSimulator) -> dict[str, int]:
    calls: dict[str, int] = {}
    for (operation, _region), count in sim.calls().items():
        calls[operation] = calls.get(operation, 0) + count
    return calls


def common_rows(
    report: Report, result: dict[str, Any], calls: dict[str, int], floor: float
) -> None:
    counts = result["counts"]
    for operation, count in sorted(calls.items()):
        report.row(f"Config {operation}", count)
    report.row(
        "DynamoDB reads",
        f"{counts['dynamodb_queries']} queries, {counts['dynamodb_items_read']} items, "
        f"{counts['dynamodb_rcu']:.0f} RCU",
    )
    report.row(
        "DynamoDB writes",
        f"{counts['dynamodb_puts']} puts, {counts['dynamodb_deletes']} deletes, "
        f"{counts['dynamodb_wcu']:.0f} WCU",
    )
    # Each message is published once per rendering topic (and per route's copy).
    report.row(
        "SNS publishes", f"{counts['sns_messages']} in {counts['sns_publish_requests']} requests"
    )
    report.row(
        "wall time",
        f"{result['wall_s']:.3f} s (floor {floor:.3f} s, {result['wall_s'] / floor:.2f}x)"
        if floor
        else f"{result['wall_s']:.3f} s",
    )
    report.row("peak memory (RSS)", f"{result['peak_rss_mib']:.0f} MiB")


def steady_report(
    steady: dict[str, Any],
    s1_calls: dict[str, int],
    walls: list[float],
    latency_ms: int,
    concurrency: int,
) -> Report:
    s1 = Report(
        "S1 steady: 1,000 accounts, 2 regions x (150 org rules, 50 org packs, 50 account packs), nothing changed"
    )
    s1.row(
        "wall time runs",
        f"median of {STEADY_REPEATS}: " + ", ".join(f"{w * 1000:.0f}" for w in walls) + " ms",
    )
    floor = floor_seconds(latency_ms / 1000, S1, [], concurrency)
    common_rows(s1, steady, s1_calls, floor)
    total = sum(s1_calls.values())
    detail = sum(s1_calls.get(op, 0) for op in DETAIL_OPS)
    counts = steady["counts"]
    s1.check(
        "Config calls",
        total,
        f"= {S1.min_list_calls()} (list pages only)",
        total == S1.min_list_calls(),
    )
    s1.check("detail calls", detail, "= 0", detail == 0)
    s1.check(
        "DynamoDB writes",
        counts["dynamodb_puts"] + counts["dynamodb_deletes"],
        "= 0",
        counts["dynamodb_puts"] + counts["dynamodb_deletes"] == 0,
    )
    s1.check(
        "DynamoDB queries",
        counts["dynamodb_queries"],
        f"= {len(S1.regions)} (one per region)",
        counts["dynamodb_queries"] == len(S1.regions),
    )
    s1.check("SNS publishes", counts["sns_messages"], "= 0", counts["sns_messages"] == 0)
    ratio = steady["wall_s"] / floor
    s1.data = {
        "wall_s": steady["wall_s"],
        "rcu": counts["dynamodb_rcu"],
        "regions": len(S1.regions),
    }
    s1.check("wall / floor", f"{ratio:.2f}x", "<= 1.20x", ratio <= 1.2)

    return s1


def reference_row(
    runs: list[dict[str, Any]],
    walls: list[float],
    shape: Shape,
    latency_ms: int,
    concurrency: int,
) -> tuple[str, str]:
    """What boto3 and the sandbox alone take for a steady run's requests on this machine: the
    part of the wall time above the floor that is not the notifier's. `runs` were taken in turns
    with the notifier's runs `walls`, so whatever else the machine does weighs on both alike: the
    notifier's own share is the median of the pairs' differences."""
    calls = {run["summary"]["api_calls"] for run in runs}
    if calls != {shape.min_list_calls()}:
        raise RuntimeError(f"the reference made {calls} Config calls, not {shape.min_list_calls()}")
    wall = statistics.median(run["wall_s"] for run in runs)
    own = statistics.median(w - run["wall_s"] for w, run in zip(walls, runs, strict=True))
    floor = floor_seconds(latency_ms / 1000, shape, [], concurrency)
    return (
        "boto3 alone, same requests",
        f"{wall:.3f} s ({wall / floor:.2f}x the floor; median of {len(runs)}, taken in turns with "
        f"the notifier's runs); the notifier's own work adds {own * 1000:+.0f} ms (median of the "
        "pairs' differences)",
    )


def steady_and_rollout(sandbox: Sandbox, latency_ms: int, concurrency: int) -> list[Report]:
    sim = sandbox.config_sim
    with deployed(sandbox, S1, concurrency) as (notifier, worker):
        worker.run()  # the baseline: records the organization, not measured
        notifier.received()
        sim.set_fault(latency_ms=latency_ms)
        # Two steady runs: the first warms the worker's clients, as any run after a cold start.
        worker.run()
        # The reference (boto3 alone, same requests) runs in turns with the steady runs, each
        # right after one of them, so both meet the same machine: a load that drifted between
        # two blocks of runs would be counted as the notifier's own work (docs/performance.md).
        reference = Worker(notifier.env, reference=True)
        try:
            for _ in range(2):  # warm, as the handler's worker is
                reference.run()
            sim.reset_calls()
            steady = worker.run()
            s1_calls = config_calls(sim)
            references = [reference.run()]
            # A run this short is at the mercy of the scheduler: the median of several.
            processes = {
                "handler": worker.pid,
                "Config simulator (with the benchmark)": os.getpid(),
            }
            if isinstance(sandbox.moto, MotoProcess) and sandbox.moto.pid is not None:
                processes["moto"] = sandbox.moto.pid
            more: list[float] = []
            cpu = dict.fromkeys(processes, 0.0)
            for _ in range(STEADY_REPEATS - 1):
                # Each process's CPU during the notifier's runs only, not the reference's.
                cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
                more.append(worker.run()["wall_s"])
                for name, pid in processes.items():
                    cpu[name] += (cpu_seconds(pid) - cpu_before[name]) / (STEADY_REPEATS - 1)
                references.append(reference.run())
        finally:
            reference.stop()
        walls = [steady["wall_s"], *more]
        steady = {**steady, "wall_s": statistics.median(walls)}
        s1 = steady_report(steady, s1_calls, walls, latency_ms, concurrency)
        # Why the wall time is above the floor on a small machine: the handler, the
        # simulator and moto share its cores (information; 10 ms clock-tick resolution).
        s1.rows.insert(
            1,
            (
                f"CPU per run (mean of {len(more)})",
                ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in cpu.items())
                + f"; {os.cpu_count()} cores",
            ),
        )
        s1.rows.insert(2, reference_row(references, walls, S1, latency_ms, concurrency))

        failing = S1.account_ids()[:S2_FAILING]
        region = sim.region(S2_REGION)
        for account in failing:
            region.set_member_status(
                "pack",
                S2_PACK,
                account,
                "CREATE_FAILED",
                error_code="ConformancePackCreationFailed",
                error_message=f"The stack for {account} is in CREATE_FAILED state: AccessDenied on s3:PutBucketPolicy",
            )
        sim.reset_calls()
        rollout = worker.run()
        s2 = Report(
            "S2 rollout failure: as S1, one pack fails in 100 of the 1,000 accounts in one region"
        )
        s2_calls = config_calls(sim)
        # The failing pack's six filtered calls, one after another.
        floor = floor_seconds(latency_ms / 1000, S1, [UNHEALTHY_FILTERS], concurrency)
        common_rows(s2, rollout, s2_calls, floor)
        detail = sum(s2_calls.get(op, 0) for op in DETAIL_OPS)
        messages = notifier.received()
        regions = {m.attributes["region"] for m in messages}
        writes = rollout["counts"]["dynamodb_puts"] + rollout["counts"]["dynamodb_deletes"]
        s2.check(
            "detail calls",
            detail,
            f"= {UNHEALTHY_FILTERS} (the changed pack's filters; unfiltered: {S1.detail_pages()})",
            detail == UNHEALTHY_FILTERS,
        )
        s2.check(
            "messages",
            len(messages),
            "= 1 per affected region",
            len(messages) == len(regions) == 1,
        )
        s2.check(
            "DynamoDB writes",
            writes,
            f"<= {S2_FAILING} changed + constant",
            writes <= S2_FAILING + 2,
        )
        first = messages[0].document if messages else {}
        named = sorted(t["account_id"] for t in first.get("transitions", []) if t.get("account_id"))
        s2.check("accounts named", len(named), "= the 100 failing", named == sorted(failing))
    return [s1, s2]


@dataclass
class AtScale:
    """What S3 and S5 measured on one organization."""

    load_s: float  # loading the organization into the simulator
    baseline: dict[str, Any]
    baseline_calls: dict[str, int]
    steady: list[dict[str, Any]]
    steady_calls: list[dict[str, int]]
    steady_messages: int
    reconcile: list[dict[str, Any]]
    reconcile_calls: dict[str, int]
    reconcile_messages: int


def at_scale(sandbox: Sandbox, latency_ms: int, concurrency: int, shape: Shape) -> AtScale:
    """One organization's first run (the baseline), steady runs while a few rules and packs have
    been failing for days (S5), then the daily reconcile (S3), each at `latency_ms` per call."""
    sim = sandbox.config_sim
    loading = time.perf_counter()
    with deployed(sandbox, shape, concurrency) as (notifier, worker):
        load_s = time.perf_counter() - loading
        sim.set_fault(latency_ms=latency_ms)
        sim.reset_calls()
        baseline = worker.run()
        baseline_calls = config_calls(sim)
        notifier.received()
        steady, steady_calls = [], []
        for _ in range(S5_RUNS):
            sim.reset_calls()
            steady.append(worker.run())
            steady_calls.append(config_calls(sim))
        steady_messages = len(notifier.received())
        _age_reconcile(notifier, shape.regions)
        sim.reset_calls()
        reconcile = [worker.run()]
        while reconcile[-1]["summary"]["deferred_for_time"] and len(reconcile) < 10:
            reconcile.append(worker.run())  # resumes where the last run stopped
        return AtScale(
            load_s,
            baseline,
            baseline_calls,
            steady,
            steady_calls,
            steady_messages,
            reconcile,
            config_calls(sim),
            len(notifier.received()),
        )


def _described(shape: Shape) -> str:
    return (
        f"{shape.accounts:,} accounts, {shape.org_rules + shape.org_packs} rules and packs, "
        f"{len(shape.regions)} region, {shape.unhealthy} of them failing in "
        f"{shape.failing_accounts} accounts each for days"
    )


def _unhealthy_floor(shape: Shape, latency_ms: int, concurrency: int) -> float:
    # Each unhealthy rule's or pack's filtered calls follow one another.
    chains = [UNHEALTHY_FILTERS] * shape.unhealthy
    return floor_seconds(latency_ms / 1000, shape, chains, concurrency)


def steady_unhealthy_report(
    shape: Shape, measured: AtScale, latency_ms: int, concurrency: int
) -> Report:
    report = Report(f"S5 steady, a few unhealthy: {_described(shape)}, nothing moving")
    # The first run warms the worker's clients, as any run after a cold start; not measured.
    runs, calls = measured.steady[1:], measured.steady_calls[1:]
    walls = [r["wall_s"] for r in runs]
    median = {**runs[-1], "wall_s": statistics.median(walls)}
    common_rows(report, median, calls[-1], _unhealthy_floor(shape, latency_ms, concurrency))
    report.row(
        "wall time runs",
        f"median of {len(walls)}: " + ", ".join(f"{w * 1000:.0f}" for w in walls) + " ms",
    )
    detail = max(sum(c.get(op, 0) for op in DETAIL_OPS) for c in measured.steady_calls)
    report.check(
        "detail calls per run",
        f"{detail} (max)",
        f"<= {shape.unhealthy_bound()}, {UNHEALTHY_FILTERS} per unhealthy "
        f"(unfiltered: {shape.unfiltered_detail_calls():,})",
        detail <= shape.unhealthy_bound(),
    )
    report.check(
        "messages", measured.steady_messages, "= 0 (nothing moved)", not measured.steady_messages
    )
    report.data = {
        "wall_s": median["wall_s"],
        "rcu": median["counts"]["dynamodb_rcu"],
        "regions": len(shape.regions),
    }
    return report


def reconcile_report(shape: Shape, measured: AtScale, latency_ms: int, concurrency: int) -> Report:
    report = Report(f"S3 baseline and full reconcile: {_described(shape)}")
    runs = measured.reconcile
    merged = dict(runs[-1])
    merged["wall_s"] = sum(r["wall_s"] for r in runs)
    merged["counts"] = {k: sum(r["counts"][k] for r in runs) for k in runs[0]["counts"]}
    merged["peak_rss_mib"] = max(r["peak_rss_mib"] for r in [*runs, measured.baseline])
    floor = _unhealthy_floor(shape, latency_ms, concurrency)
    common_rows(report, merged, measured.reconcile_calls, floor)
    baseline = measured.baseline
    report.row(
        "baseline (the first run)",
        f"{baseline['wall_s']:.3f} s, peak memory {baseline['peak_rss_mib']:.0f} MiB",
    )
    report.row("runs", f"{len(runs)}; the simulator took {measured.load_s:.0f} s to load")
    list_pages = shape.min_list_calls()
    bound = list_pages + shape.unhealthy_bound()
    every_member = list_pages + (shape.org_rules + shape.org_packs) * shape.detail_pages()
    target = f"<= {bound} = {list_pages} list + {shape.unhealthy_bound()} (was {every_member:,})"
    for name, calls in (
        ("baseline", measured.baseline_calls),
        ("reconcile", measured.reconcile_calls),
    ):
        total = sum(calls.values())
        report.check(f"{name} Config calls", total, target, total <= bound)
    report.check(
        "reconcile messages",
        measured.reconcile_messages,
        "= 0 (nothing changed)",
        not measured.reconcile_messages,
    )
    report.check(
        "completes",
        f"{len(runs)} run(s)",
        "1 run < 15 min, or resumes",
        (len(runs) == 1 and merged["wall_s"] < FIFTEEN_MINUTES)
        or not runs[-1]["summary"]["deferred_for_time"],
    )
    report.check(
        "peak memory",
        f"{merged['peak_rss_mib']:.0f} MiB",
        f"< {MEMORY_LIMIT_MIB} MiB",
        merged["peak_rss_mib"] < MEMORY_LIMIT_MIB,
    )
    report.data = {
        "wall_s": merged["wall_s"],
        "rcu": merged["counts"]["dynamodb_rcu"],
        "regions": len(shape.regions),
    }
    return report


def _age_reconcile(notifier: Notifier, regions: tuple[str, ...]) -> None:
    """Make every rule's and pack's last full read two days old, so a reconcile is due."""
    store = SnapshotStore(notifier.dynamodb, notifier.table)
    old = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")
    for region in regions:
        before = store.load_region(region)
        aged = {e: replace(r, detail_read_at=old) for e, r in before.records.items()}
        store.save_region(region, before, aged)


# Runs in the package as Lambda's client would, and says when `import boto3` was done.
BOTO3_PROBE = "import boto3, time; print(time.perf_counter())"
# The handler's first invocation builds its clients: shown beside the init, as information.
SETUP_PROBE = """
import time
import config_notifier.handler as handler
started = time.perf_counter()
handler.settings()
handler.dependencies()
print(time.perf_counter() - started)
"""


def cold_start(repeats: int) -> Report:
    """Lambda's init of the function, from the package as shipped, through AWS's runtime
    interface client: from the process's start to its first request for an event."""
    shipped = bundle.build()
    function = FunctionConfiguration(
        name="config-deployment-notifier",
        handler=HANDLER,
        runtime=RUNTIME.name,
        memory_mb=MEMORY_MB,
        log_format="JSON",
        tracing=False,  # shown on its own row
        variables={
            "SNAPSHOT_TABLE_NAME": "bench-table",
            "TOPIC_ARN_PREFIX": "arn:aws:sns:us-east-1:123456789012:bench-",
            "REGIONS": "us-east-1,eu-west-1",
        },
    )
    with tempfile.TemporaryDirectory() as scratch:
        runtime_dir = runtime_directory(Path(scratch) / "runtime")
        # The same package without its bytecode, for comparison.
        uncompiled = Path(scratch) / "uncompiled"
        shutil.copytree(shipped, uncompiled, ignore=shutil.ignore_patterns("__pycache__"))

        def environment(package: Path, **extra: str) -> dict[str, str]:
            return {
                **lambda_environment(
                    function, region="us-east-1", task_root=package, runtime_dir=runtime_dir
                ),
                **SANDBOX_CREDENTIALS,
                # Each run starts from the package as shipped, as each new environment does.
                "PYTHONDONTWRITEBYTECODE": "1",
                **extra,
            }

        def init(package: Path, **extra: str) -> float:
            with RuntimeApi("arn:aws:lambda:us-east-1:123456789012:function:bench") as api:
                env = {**environment(package, **extra), "AWS_LAMBDA_RUNTIME_API": api.address}
                process = FunctionProcess(package, runtime_dir, function.handler, env)
                try:
                    return api.wait_for_first_poll(timeout=60) - process.started
                finally:
                    process.stop()

        def in_package(code: str, package: Path = shipped) -> str:
            return subprocess.run(
                [sys.executable, "-S", "-c", code],
                cwd=package,
                env={**environment(package), "PYTHONPATH": str(package)},
                capture_output=True,
                text=True,
                check=True,
            ).stdout

        def import_boto3() -> float:
            started = time.perf_counter()
            return float(in_package(BOTO3_PROBE)) - started

        # Taken in turns, so whatever else the machine does weighs on both sides alike.
        pairs = [(import_boto3(), init(shipped)) for _ in range(repeats)]
        boto3_s = statistics.median(b for b, _ in pairs)
        init_s = statistics.median(h for _, h in pairs)
        # The ratio of each pair, then their median: a pair's two runs met the same machine.
        ratio = statistics.median(h / b for b, h in pairs)
        few = max(repeats // 3, 3)
        uncompiled_s = statistics.median(init(uncompiled) for _ in range(few))
        with XRayDaemon() as daemon:
            traced_s = statistics.median(
                init(shipped, AWS_XRAY_DAEMON_ADDRESS=daemon.address) for _ in range(few)
            )
        setup_s = statistics.median(float(in_package(SETUP_PROBE)) for _ in range(few))
        unzipped, files = bundle.package_size(shipped)
        zipped = _zipped_size(shipped)
    report = Report(
        f"S4 cold start: Lambda's init through awslambdaric, from the deployment package, on "
        f"Python {platform.python_version()}; median of {repeats} pairs, the ratio the median "
        "of the pairs' ratios"
    )
    report.row(
        "deployment package",
        f"{unzipped / 1e6:.1f} MB unzipped, {files:,} files ({zipped / 1e6:.1f} MB zipped)",
    )
    report.row("import boto3", f"{boto3_s * 1000:.0f} ms (from the process's start)")
    report.row(
        "init through awslambdaric",
        f"{init_s * 1000:.0f} ms (from the process's start to its first request for an event)",
    )
    # Information, each the median of fewer runs, with its ratio to the median import boto3.
    report.row(
        "  the same without bytecode",
        f"{uncompiled_s * 1000:.0f} ms ({uncompiled_s / boto3_s:.2f}x; median of {few})",
    )
    report.row(
        "  the same with X-Ray on",
        f"{traced_s * 1000:.0f} ms ({traced_s / boto3_s:.2f}x; median of {few}: the stack's "
        "active tracing imports the X-Ray SDK)",
    )
    report.row(
        "first invocation's set-up",
        f"{setup_s * 1000:.0f} ms (init and set-up {(init_s + setup_s) / boto3_s:.2f}x; "
        f"median of {few}: settings, the Config and DynamoDB clients; SNS waits for a publish)",
    )
    report.check("init / import boto3", f"{ratio:.2f}x", "<= 1.50x", ratio <= 1.5)
    return report


def _zipped_size(root: Path) -> int:
    """The package as a deflated zip, as `cdk deploy` uploads it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(root))
    return len(buffer.getvalue())


COSTED_REGIONS = len(S1.regions)


def print_costs(
    healthy: dict[str, float] | None,
    unhealthy: dict[str, float] | None,
    reconcile: dict[str, float],
) -> None:
    """The monthly cost of 2 regions of S1's rules and packs, all healthy (S1's steady run) and
    with 5 unhealthy per region (S5's), each with S3's daily reconcile. Any number of accounts:
    neither grows with them."""
    daily = Measured(reconcile["wall_s"], reconcile["rcu"], int(reconcile["regions"]))
    print(
        f"\n## Monthly cost, 5-minute schedule, {COSTED_REGIONS} regions of S1's rules and packs, "
        "daily reconcile (S3's), any number of accounts (bench/costs.py: us-east-1 list prices)"
    )
    print(
        f"  {'steady runs':<40}  {'Lambda':>8}  {'DynamoDB':>8}  {'SNS':>6}  {'CloudWatch':>10}"
        f"  {'total':>8}"
    )
    for name, steady in (
        ("every rule and pack healthy (S1)", healthy),
        ("5 unhealthy in each region (S5)", unhealthy),
    ):
        if steady is None:
            continue
        c = monthly_cost(
            Measured(steady["wall_s"], steady["rcu"], int(steady["regions"])),
            daily,
            COSTED_REGIONS,
        )
        print(
            f"  {name:<40}  ${c['Lambda']:>7.2f}  ${c['DynamoDB']:>7.2f}  ${c['SNS']:>5.2f}"
            f"  ${c['CloudWatch']:>9.2f}  ${c['total']:>7.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--latency-ms", type=int, default=30, help="simulated latency per Config call"
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="MAX_CONCURRENCY of the function"
    )
    parser.add_argument(
        "--scenarios",
        default="S1,S2,S3,S4,S5",
        help="which scenarios (S1 and S2 run together, and S3 and S5)",
    )
    parser.add_argument(
        "--s3-accounts", type=int, default=S3.accounts, help="accounts in S3 and S5"
    )
    args = parser.parse_args(argv)
    wanted = set(args.scenarios.upper().split(","))
    reports: list[Report] = []
    print(
        f"latency {args.latency_ms} ms per Config call, MAX_CONCURRENCY {args.concurrency}",
        flush=True,
    )
    with Sandbox(moto=MotoProcess()) as sandbox:
        os.environ.update(sandbox.env())
        if wanted & {"S1", "S2"}:
            reports += steady_and_rollout(sandbox, args.latency_ms, args.concurrency)
        if wanted & {"S3", "S5"}:
            shape = replace(S3, accounts=args.s3_accounts)
            measured = at_scale(sandbox, args.latency_ms, args.concurrency, shape)
            if "S5" in wanted:
                reports.append(
                    steady_unhealthy_report(shape, measured, args.latency_ms, args.concurrency)
                )
            if "S3" in wanted:
                reports.append(reconcile_report(shape, measured, args.latency_ms, args.concurrency))
    if "S4" in wanted:
        reports.append(cold_start(repeats=21))
    for report in reports:
        report.print()
    data = {r.scenario.split(" ")[0]: r.data for r in reports if r.data}
    if "S3" in data and ("S1" in data or "S5" in data):
        print_costs(data.get("S1"), data.get("S5"), data["S3"])
    missed = [
        f"{r.scenario.split(':')[0]}: {c.name}" for r in reports for c in r.checks if not c.ok
    ]
    print("\n" + ("every target met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
