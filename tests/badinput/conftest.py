"""A deployed notifier in the sandbox (table, topic, subscribed queue) and helpers to run it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chaos.harness import Delivery, Deployment, RunResult, run_in_process
from sandbox import Sandbox
from sandbox.fault_proxy import FaultProxy

REGIONS = ("us-east-1", "eu-west-1")
ACCOUNTS = [str(200_000_000_000 + i) for i in range(12)]


@pytest.fixture
def deployment(sandbox_env: dict[str, str], config_sim: Any) -> Iterator[Deployment]:
    """A freshly deployed notifier watching two regions of an emptied simulator."""
    deployed = Deployment(sandbox_env, REGIONS, MAX_ATTEMPTS="2", MAX_CONCURRENCY="4")
    yield deployed
    deployed.delete()


def run(deployment: Deployment, tick: str, **overrides: str) -> RunResult:
    """One schedule tick of the real handler; fails the test if an exception escapes it."""
    result = run_in_process({**deployment.env, **overrides}, tick)
    assert result.error is None, result.error
    return result


def transitions(deployment: Deployment) -> list[Delivery]:
    return [d for d in deployment.received() if d.is_transition]


@pytest.fixture(scope="session")
def fault_proxy(sandbox: Sandbox) -> Iterator[FaultProxy]:
    """A proxy in front of the session's moto, to see exactly what was published."""
    with FaultProxy(sandbox.moto.url) as proxy:
        yield proxy


@pytest.fixture
def recorded_deployment(
    sandbox_env: dict[str, str], config_sim: Any, fault_proxy: FaultProxy
) -> Iterator[tuple[Deployment, FaultProxy]]:
    """A deployed notifier reached through a proxy that keeps every request."""
    deployed = Deployment(
        {**sandbox_env, "AWS_ENDPOINT_URL": fault_proxy.url},
        REGIONS,
        MAX_ATTEMPTS="2",
        MAX_CONCURRENCY="4",
    )
    fault_proxy.record()
    yield deployed, fault_proxy
    fault_proxy.record(on=False)
    deployed.delete()
