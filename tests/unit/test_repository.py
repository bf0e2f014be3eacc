"""What the repository promises about itself: its license, and the shape of infra/."""

from __future__ import annotations

import ast
import json
import tomllib

import pytest

from infra import REPO_ROOT

MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 70


def test_the_license_file_is_the_license_the_metadata_names() -> None:
    # Given the license pyproject.toml and package.json declare
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert json.loads((REPO_ROOT / "package.json").read_text())["license"] == declared == "MIT"
    # Then LICENSE is that license's text
    text = (REPO_ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text


@pytest.mark.parametrize(
    "module", sorted((REPO_ROOT / "infra").glob("*.py")), ids=lambda path: path.name
)
def test_infra_modules_and_functions_stay_small(module) -> None:
    # Given a module of the CDK app
    source = module.read_text()
    # Then it is at most 450 lines, and none of its functions is over 70
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    lengths = {
        node.name: (node.end_lineno or node.lineno) - node.lineno + 1
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert {name: n for name, n in lengths.items() if n > MAX_FUNCTION_LINES} == {}
