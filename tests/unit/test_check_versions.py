"""`make` checks Python and Node against the versions the project declares, with a clear message."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import REPO_ROOT
from tools import check_versions

SCRIPT = REPO_ROOT / "tools" / "check_versions.py"


def project(tmp_path: Path, requires_python: str, node: str) -> Path:
    """A copy of the script in a project that declares these versions."""
    (tmp_path / "tools").mkdir()
    shutil.copy(SCRIPT, tmp_path / "tools" / SCRIPT.name)
    (tmp_path / "pyproject.toml").write_text(f'[project]\nrequires-python = "{requires_python}"\n')
    (tmp_path / "package.json").write_text(json.dumps({"engines": {"node": node}}))
    return tmp_path / "tools" / SCRIPT.name


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ((3, 13, 0), ">=3.13", True),
        ((3, 12, 9), ">=3.13", False),
        ((3, 13, 5), "==3.13.*", True),
        ((3, 14, 0), "==3.13.*", False),
        ((3, 13, 1), ">=3.11,<3.14", True),
        ((3, 14, 0), ">=3.11,<3.14", False),
        ((20, 20, 2), ">=20", True),
        ((18, 19, 0), ">=20", False),
    ],
)
def test_a_version_meets_the_declared_spec_exactly_when_it_should(version, spec, expected):
    assert check_versions.satisfies(version, spec) is expected


def test_the_project_s_own_declarations_are_read_and_met_here():
    # Given the repository's pyproject.toml and package.json
    # When the check runs with the interpreter of the tests and the .venv
    result = run(SCRIPT, sys.executable)
    # Then it passes silently
    assert (result.returncode, result.stderr) == (0, "")
    assert check_versions.requires_node() == ">=20"


def test_a_python_older_than_declared_is_refused_with_the_version_it_needs(tmp_path):
    # Given a project that declares a Python newer than the one running the check
    newer = f">={sys.version_info.major}.{sys.version_info.minor + 1}"
    script = project(tmp_path, newer, ">=1")
    # When the check runs, naming the same Python as the .venv's
    result = run(script, sys.executable)
    # Then it fails, saying what it needs and what it found, for both
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"make: needs Python {newer} (requires-python in pyproject.toml)")
    assert "make PYTHON=" in lines[0]
    assert lines[1].startswith(f"make: needs Python {newer}, but .venv was made with Python")
    assert "make clean" in lines[1]


def test_a_node_older_than_declared_is_refused_with_the_version_it_needs(tmp_path):
    # Given a project that needs a Node no machine has yet
    script = project(tmp_path, ">=3", ">=999")
    # When the check runs
    result = run(script)
    # Then it fails, naming the Node it needs and the one it found
    assert result.returncode == 1
    assert result.stderr.startswith(
        "make: needs Node >=999 (engines.node in package.json), but node is v"
    )


def test_an_unreadable_declaration_is_reported_not_ignored(tmp_path):
    # Given a requires-python the check cannot read
    script = project(tmp_path, "~=3.13", ">=20")
    # When the check runs, then it fails and says so
    result = run(script)
    assert result.returncode == 1
    assert "cannot check the supported versions: cannot read the version clause '~=3.13'" in (
        result.stderr
    )
