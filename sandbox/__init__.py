"""A local stand-in for an AWS account: moto plus an AWS Config organization-status simulator.

with Sandbox() as sandbox:
    os.environ.update(sandbox.env())
    sandbox.config_sim.add_accounts(["222222222222"])
    sandbox.config_sim.region("us-east-1").put_org_pack("ops-baseline")
"""

from __future__ import annotations

from sandbox.config_sim import ConfigSimulator
from sandbox.local_aws import Sandbox

__all__ = ["ConfigSimulator", "Sandbox"]
