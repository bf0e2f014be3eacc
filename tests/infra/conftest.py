"""Synthesized notifier apps for the infrastructure tests: each variant is synthesized once a session.

Each test module takes the variant it asserts on through its own module-scoped `template` fixture.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# jsii starts node on the first aws_cdk import; keep its end-of-life banner out of test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from infra import bundle
from tests.infra.support import VARIANTS, Synthesis, synthesize


@pytest.fixture(scope="session")
def lambda_bundle() -> Path:
    """The function's deployment package (built once; reused while its inputs are unchanged)."""
    return bundle.build()


@pytest.fixture(scope="session")
def synthesized(
    lambda_bundle: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Synthesis]:
    """`synthesized("default")` or `synthesized("full")`: synthesized on first use, then reused."""
    cache: dict[str, Synthesis] = {}

    def get(variant: str) -> Synthesis:
        if variant not in cache:
            outdir = tmp_path_factory.mktemp(f"cdk-{variant}")
            cache[variant] = synthesize(VARIANTS[variant], outdir, lambda_bundle)
        return cache[variant]

    return get
