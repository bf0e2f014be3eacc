"""Synthesized notifier apps for the infrastructure tests: each variant is synthesized once a session.

`default` is what cdk.json builds, `full` has everything optional switched on (tests.infra.support);
`template` and `full_template` are their stack templates for aws_cdk.assertions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

# jsii starts node on the first aws_cdk import; keep its end-of-life banner out of test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from infra import bundle
from sandbox.deploy import Synthesized, synthesize_app
from tests.infra.support import VARIANTS


@pytest.fixture(scope="session")
def lambda_bundle() -> Path:
    """The function's deployment package (built once; reused while its inputs are unchanged)."""
    return bundle.build()


@pytest.fixture(scope="session")
def synthesized(
    lambda_bundle: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Synthesized]:
    """`synthesized("default")` or `synthesized("full")`: synthesized on first use, then reused."""
    cache: dict[str, Synthesized] = {}

    def get(variant: str) -> Synthesized:
        if variant not in cache:
            outdir = tmp_path_factory.mktemp(f"cdk-{variant}")
            cache[variant] = synthesize_app(VARIANTS[variant], outdir, lambda_bundle)
        return cache[variant]

    return get


@pytest.fixture(scope="session")
def default(synthesized: Callable[[str], Synthesized]) -> Synthesized:
    return synthesized("default")


@pytest.fixture(scope="session")
def template(default: Synthesized) -> Template:
    return Template.from_json(default.template)


@pytest.fixture(scope="session")
def full(synthesized: Callable[[str], Synthesized]) -> Synthesized:
    return synthesized("full")


@pytest.fixture(scope="session")
def full_template(full: Synthesized) -> Template:
    return Template.from_json(full.template)
