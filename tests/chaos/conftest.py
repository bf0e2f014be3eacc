"""The sandbox with the fault proxy in front of moto, and a deployed notifier reached through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chaos.harness import Deployment
from sandbox import Sandbox
from sandbox.fault_proxy import FaultProxy

REGIONS = ("us-east-1", "eu-west-1")


@pytest.fixture(scope="session")
def fault_proxy(sandbox: Sandbox) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's moto."""
    with FaultProxy(sandbox.moto.url, seed=11) as proxy:
        yield proxy


@pytest.fixture
def proxied_env(sandbox_env: dict[str, str], fault_proxy: FaultProxy) -> Iterator[dict[str, str]]:
    """The sandbox environment with AWS_ENDPOINT_URL at the proxy, which has no rules yet."""
    fault_proxy.clear_faults()
    yield {**sandbox_env, "AWS_ENDPOINT_URL": fault_proxy.url}
    fault_proxy.clear_faults()


@pytest.fixture
def deployment(proxied_env: dict[str, str]) -> Iterator[Deployment]:
    """A freshly deployed notifier watching two regions, reached through the proxy."""
    deployed = Deployment(proxied_env, REGIONS, MAX_ATTEMPTS="2", MAX_CONCURRENCY="4")
    yield deployed
    deployed.delete()
