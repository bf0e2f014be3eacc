"""Fixtures shared by every test that needs the local sandbox (moto and the Config simulator)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import boto3
import botocore.session
import pytest

from sandbox import ConfigSimulator, Sandbox
from sandbox.fault_proxy import FaultProxy
from sandbox.local_aws import ISOLATION
from sandbox.notifier import Notifier

REGIONS = ("us-east-1", "eu-west-1")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """moto and the Config simulator, started once for the session."""
    with Sandbox() as running:
        yield running


def _isolate(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> dict[str, str]:
    # Any AWS_* variable could reach a real account or override an endpoint: a profile, a role,
    # session or container credentials, a per-service AWS_ENDPOINT_URL_<SERVICE>.
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    env = {**sandbox.env(), **ISOLATION}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="session")
def sandbox_boto3_session(sandbox: Sandbox) -> boto3.Session:
    """One boto3 session for every test, created where no real AWS setup is visible.

    botocore reads the config files and resolves credentials once per session, and loading the
    service models again for every test would cost a quarter of a second each.
    """
    with pytest.MonkeyPatch.context() as monkeypatch:
        _isolate(monkeypatch, sandbox)
        core = botocore.session.get_session()
        _ = core.full_config  # read (the empty) config files now, while they point at devnull
        session = boto3.Session(botocore_session=core)
        session.get_credentials()
    return session


@pytest.fixture
def sandbox_env(
    sandbox: Sandbox, sandbox_boto3_session: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """os.environ pointing boto3 at the sandbox, with nothing of a real AWS setup left in it."""
    env = _isolate(monkeypatch, sandbox)
    # boto3.client() uses the default session: make it the isolated one.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", sandbox_boto3_session)
    return env


@pytest.fixture(scope="module")
def module_sandbox_env(
    sandbox: Sandbox, sandbox_boto3_session: boto3.Session
) -> Iterator[dict[str, str]]:
    """sandbox_env for a module's fixtures: the same isolation, undone after the module."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        env = _isolate(monkeypatch, sandbox)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", sandbox_boto3_session)
        yield env


@pytest.fixture
def config_sim(sandbox: Sandbox) -> ConfigSimulator:
    """The session's Config simulator, emptied: no accounts, state, faults, counts or callers."""
    sandbox.config_sim.reset()
    return sandbox.config_sim


@pytest.fixture(scope="session")
def fault_proxy(sandbox: Sandbox) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's moto; its rates draw from a fixed seed."""
    with FaultProxy(sandbox.moto.url, seed=11) as proxy:
        yield proxy


@pytest.fixture
def make_notifier(
    sandbox_env: dict[str, str], sandbox_boto3_session: boto3.Session, config_sim: ConfigSimulator
) -> Iterator[Callable[..., Notifier]]:
    """make_notifier(endpoint=None, **settings): a freshly deployed notifier (its own table, topic
    and queue) watching two regions of the emptied simulator, giving up after two attempts;
    deleted after the test. `endpoint`: where AWS_ENDPOINT_URL points instead (a fault proxy)."""
    made: list[Notifier] = []

    def make(endpoint: str | None = None, **settings: str) -> Notifier:
        env = {**sandbox_env, "AWS_ENDPOINT_URL": endpoint} if endpoint else sandbox_env
        notifier = Notifier(
            env,
            REGIONS,
            session=sandbox_boto3_session,
            MAX_ATTEMPTS="2",  # throttling tests give up quickly
            MAX_CONCURRENCY="4",
            **settings,
        )
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        notifier.delete()
