"""A deployed notifier reached through the fault proxy in front of moto."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sandbox.fault_proxy import FaultProxy
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
