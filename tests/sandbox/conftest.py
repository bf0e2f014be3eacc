"""Clients of the Config simulator built the way application code builds them: boto3.client with
a region and no endpoint_url, so every test also proves the AWS_ENDPOINT_URL_CONFIG_SERVICE route."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

from sandbox import ConfigSimulator
from tests.sandbox.support import FakeClock, Wire

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient

MakeClient = Callable[..., "ConfigServiceClient"]


@pytest.fixture
def wire() -> Wire:
    """The raw answers received by every client made with `make_client`."""
    return Wire()


@pytest.fixture
def make_client(sandbox_env: dict[str, str], config_sim: ConfigSimulator, wire: Wire) -> MakeClient:
    """make_client(region, access_key_id=None, **botocore Config options) -> a recorded client."""

    def make(
        region: str = "us-east-1", *, access_key_id: str | None = None, **options: Any
    ) -> ConfigServiceClient:
        client = boto3.client(
            "config",
            region_name=region,
            config=Config(**options),
            # None: the environment's credentials, as application code gets them.
            aws_access_key_id=access_key_id,
            aws_secret_access_key="testing" if access_key_id else None,
        )
        wire.attach(client)
        return client

    return make


@pytest.fixture
def config(make_client: MakeClient) -> ConfigServiceClient:
    """A us-east-1 client of the management account."""
    return make_client()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked_sim(
    sandbox_env: dict[str, str], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConfigSimulator]:
    """A simulator of its own, on a clock the test moves, and the endpoint variable aimed at it."""
    with ConfigSimulator(clock=clock) as sim:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONFIG_SERVICE", sim.endpoint_url)
        yield sim
