"""The sandbox: moto for most services and the Config simulator, reachable through the standard
endpoint variables so that code under test never knows it is not talking to AWS."""

from __future__ import annotations

import os

from sandbox.config_sim import ConfigSimulator
from sandbox.fault_proxy import FaultProxy
from sandbox.moto_server import MotoProcess, MotoServer
from sandbox.servers import Lifecycle

SANDBOX_REGION = "us-east-1"
# moto accepts any credentials; fixed fake ones keep real ones out of every request.
SANDBOX_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# With the sandbox's variables in place of every AWS_* one, what keeps the rest of a real AWS setup
# out: ~/.aws/config and ~/.aws/credentials can name profiles, regions and endpoints, and the
# instance metadata service hands out credentials.
ISOLATION = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


class Sandbox(Lifecycle):
    """moto and a ConfigSimulator, started and stopped together.

    With `fault_proxy=True`, a FaultProxy stands in front of moto and AWS_ENDPOINT_URL points at
    it, so SNS and DynamoDB requests can be failed by rule (`sandbox.fault_proxy.add_fault(...)`).
    """

    def __init__(
        self,
        config_sim: ConfigSimulator | None = None,
        *,
        fault_proxy: bool = False,
        seed: int = 0,
        moto: MotoServer | MotoProcess | None = None,
    ) -> None:
        self.config_sim = config_sim or ConfigSimulator()
        self.moto = moto or MotoServer()
        self.fault_proxy: FaultProxy | None = None
        self._proxied = fault_proxy
        self._seed = seed

    def start(self) -> Sandbox:
        self.moto.start()
        try:
            if self._proxied and self.fault_proxy is None:
                self.fault_proxy = FaultProxy(self.moto.url, seed=self._seed)
                self.fault_proxy.start()
            self.config_sim.start()
            # Temporary credentials (sts:AssumeRole) are moto's: it tells whose they are.
            self.config_sim.set_identity_endpoint(self.moto.url)
        except BaseException:
            self._stop_proxy()
            self.moto.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            self.config_sim.stop()
        finally:
            try:
                self._stop_proxy()
            finally:
                self.moto.stop()

    def _stop_proxy(self) -> None:
        proxy, self.fault_proxy = self.fault_proxy, None
        if proxy is not None:
            proxy.stop()

    def env(self) -> dict[str, str]:
        """The environment that sends boto3 (and the AWS CLI) to the sandbox."""
        return {
            "AWS_ENDPOINT_URL": self.fault_proxy.url if self.fault_proxy else self.moto.url,
            "AWS_ENDPOINT_URL_CONFIG_SERVICE": self.config_sim.endpoint_url,
            **SANDBOX_CREDENTIALS,
            "AWS_DEFAULT_REGION": SANDBOX_REGION,
        }
