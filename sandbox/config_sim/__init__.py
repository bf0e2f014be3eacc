"""An AWS Config organization-status simulator speaking the real JSON 1.1 wire protocol."""

from __future__ import annotations

from sandbox.config_sim.faults import FaultRule
from sandbox.config_sim.simulator import DEFAULT_MANAGEMENT_ACCOUNT_ID, ConfigSimulator
from sandbox.config_sim.state import Region

__all__ = ["DEFAULT_MANAGEMENT_ACCOUNT_ID", "ConfigSimulator", "FaultRule", "Region"]
