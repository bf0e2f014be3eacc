"""A deployed notifier reached through the fault proxy in front of moto."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from config_notifier.model import Rendering
from sandbox.fault_proxy import FaultProxy
from sandbox.lambda_process import HandlerProcess
from sandbox.notifier import Notifier
from tests.conftest import REGIONS

__all__ = ["REGIONS"]


@pytest.fixture
def deployment(
    make_notifier: Callable[..., Notifier], fault_proxy: FaultProxy
) -> Iterator[Notifier]:
    """A freshly deployed notifier watching two regions, reached through the proxy (no rules yet)."""
    fault_proxy.clear_faults()
    yield make_notifier(fault_proxy.url)
    fault_proxy.clear_faults()


def kill_after_publish(deployment: Notifier, fault_proxy: FaultProxy) -> None:
    """Run the function in a process and SIGKILL it right after its first message's publishes
    (one to each rendering's topic), while its snapshot writes are slowed down so it cannot have
    committed; wait for what it left in flight."""
    fault_proxy.add_fault("dynamodb", "PutItem", latency_ms=2_000)
    published = fault_proxy.requests("sns", "Publish")
    function = HandlerProcess(deployment.env)
    function.ready()
    function.go("killed")
    while fault_proxy.requests("sns", "Publish") < published + len(Rendering):
        assert function.running(), function.finish()
    function.kill()
    assert function.finish().killed
    fault_proxy.wait_idle()
    fault_proxy.clear_faults()
