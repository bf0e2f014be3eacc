"""A deployed notifier in the sandbox, plain or reached through a proxy that records requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sandbox.fault_proxy import FaultProxy
from sandbox.notifier import Notifier
from tests.conftest import REGIONS

__all__ = ["ACCOUNTS", "REGIONS"]

ACCOUNTS = [str(200_000_000_000 + i) for i in range(12)]


@pytest.fixture
def deployment(make_notifier: Callable[..., Notifier]) -> Notifier:
    """A freshly deployed notifier watching two regions of an emptied simulator."""
    return make_notifier()


@pytest.fixture
def recorded_deployment(
    make_notifier: Callable[..., Notifier], fault_proxy: FaultProxy
) -> Iterator[tuple[Notifier, FaultProxy]]:
    """A deployed notifier reached through a proxy that keeps every request."""
    fault_proxy.clear_faults()
    deployed = make_notifier(fault_proxy.url)
    fault_proxy.record()
    yield deployed, fault_proxy
    fault_proxy.record(on=False)
