"""Is this machine's Python and Node what the project supports? `make` runs this first.

The supported versions are declared where their tools read them: Python in pyproject.toml
(`requires-python`), Node in package.json (`engines.node`). This script reads both and checks the
interpreter running it (the one `make` builds .venv with), the existing .venv's, and `node`.
It runs on whatever Python `make` found, so it sticks to what old versions have.

Usage: python tools/check_versions.py [VENV_PYTHON]
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)(\.\*)?\s*$")


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def satisfies(version: tuple[int, ...], spec: str) -> bool:
    """Whether `version` meets a comma-separated spec such as ">=3.13" or "==3.13.*"."""
    for clause in spec.split(","):
        match = _CLAUSE.match(clause)
        if match is None:
            raise ValueError(f"cannot read the version clause {clause.strip()!r}")
        operator, wanted, wildcard = match.group(1), parse_version(match.group(2)), match.group(3)
        have = version[: len(wanted)] if wildcard or operator in ("==", "!=") else version
        results = {
            ">=": have >= wanted,
            ">": have > wanted,
            "<=": have <= wanted,
            "<": have < wanted,
            "==": have == wanted,
            "!=": have != wanted,
        }
        if not results[operator]:
            return False
    return True


def requires_python() -> str:
    match = re.search(
        r'^requires-python\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M
    )
    if match is None:
        raise ValueError("pyproject.toml declares no requires-python")
    return match.group(1)


def requires_node() -> str:
    engines = json.loads((ROOT / "package.json").read_text()).get("engines", {})
    if "node" not in engines:
        raise ValueError("package.json declares no engines.node")
    return str(engines["node"])


def python_version_of(interpreter: str) -> tuple[int, ...]:
    out = subprocess.run(  # noqa: S603 - the interpreter make was told to use
        [interpreter, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_version(out)


def problems(venv_python: str | None) -> list[str]:
    """What does not meet the declared versions, each with what to do."""
    found = []
    python_spec = requires_python()
    here = tuple(sys.version_info[:3])
    if not satisfies(here, python_spec):
        found.append(
            f"needs Python {python_spec} (requires-python in pyproject.toml), but "
            f"{sys.executable} is {'.'.join(map(str, here))}: install it and run "
            "make PYTHON=<that python>"
        )
    if venv_python and Path(venv_python).exists():
        venv = python_version_of(venv_python)
        if not satisfies(venv, python_spec):
            found.append(
                f"needs Python {python_spec}, but .venv was made with Python "
                f"{'.'.join(map(str, venv))}: run make clean, then make setup"
            )
    node_spec = requires_node()
    node = shutil.which("node")
    if node is None:
        found.append(
            f"needs Node {node_spec} (engines.node in package.json), and node is not found"
        )
    else:
        version = subprocess.run(  # noqa: S603 - node from PATH, as npx will run it
            [node, "--version"], capture_output=True, text=True, check=True
        )
        have = parse_version(version.stdout)
        if not satisfies(have, node_spec):
            found.append(
                f"needs Node {node_spec} (engines.node in package.json), but node is "
                f"{version.stdout.strip()}"
            )
    return found


def main(argv: list[str]) -> int:
    try:
        found = problems(argv[1] if len(argv) > 1 else None)
    except (ValueError, OSError, subprocess.CalledProcessError) as exc:
        found = [f"cannot check the supported versions: {exc}"]
    for problem in found:
        print(f"make: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
