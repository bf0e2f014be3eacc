"""A local stand-in for an AWS account: moto plus an AWS Config organization-status simulator, and
the harness every tool runs the notifier with (lambda_runtime, lambda_process, notifier,
resources).

with Sandbox() as sandbox:
    os.environ.update(sandbox.env())
    sandbox.config_sim.add_accounts(["222222222222"])
    sandbox.config_sim.region("us-east-1").put_org_pack("ops-baseline")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.config_sim import ConfigSimulator
    from sandbox.local_aws import Sandbox

__all__ = ["ConfigSimulator", "Sandbox"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the function's own process (sandbox.lambda_process) is in this package
    # and must not import moto and the simulator with it.
    if name == "Sandbox":
        from sandbox.local_aws import Sandbox  # noqa: PLC0415

        return Sandbox
    if name == "ConfigSimulator":
        from sandbox.config_sim import ConfigSimulator  # noqa: PLC0415

        return ConfigSimulator
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
