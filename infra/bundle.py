"""The function's deployment package, built without docker: pinned wheels for the Lambda runtime.

`pip install --platform <aarch64> --python-version <runtime's> --only-binary=:all:` resolves the
wheels Lambda's arm64 Python runtime can load, whatever machine runs the synth; the function's
package is copied in beside them. Two content hashes decide what needs doing:
- the dependencies' (requirements, constraints, runtime version, platform): pip runs only when it
  changes, so repeated synths are fast and work offline once the wheels are installed;
- the code's (every file of lambda/config_notifier): a change re-copies the package only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra import LAMBDA_SOURCE, REPO_ROOT
from infra.constants import AWS_SERVICES, PACKAGE, PIP_PLATFORM, RUNTIME_PYTHON_VERSION

BUILD_ROOT = REPO_ROOT / "build"
REQUIREMENTS = LAMBDA_SOURCE / "requirements.txt"
CONSTRAINTS = REPO_ROOT / "constraints.txt"
# Bump when the way the bundle is built changes, so old builds are not reused.
BUILD_FORMAT = "2"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class BundleError(RuntimeError):
    """The deployment package could not be built as the runtime needs it."""


@dataclass(frozen=True, slots=True)
class Target:
    """What the package is built for."""

    python_version: str = RUNTIME_PYTHON_VERSION
    platform: str = PIP_PLATFORM

    @property
    def abi(self) -> str:
        return "cp" + self.python_version.replace(".", "")


def build(out: Path | None = None, target: Target | None = None) -> Path:
    """Make `out` (default build/lambda) the deployment package; return it. Idempotent."""
    out = out or BUILD_ROOT / "lambda"
    target = target or Target()
    stamp_path = out.with_name(out.name + ".stamp.json")
    wanted = {"dependencies": _dependencies_hash(target), "code": _code_hash()}
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out.with_name(f".{out.name}.lock")):
        stamp = _read_stamp(stamp_path) if out.is_dir() else {}
        if stamp == wanted:
            return out
        # Written last: an interrupted build leaves a stale stamp and is redone next time.
        stamp_path.unlink(missing_ok=True)
        if stamp.get("dependencies") != wanted["dependencies"]:
            _build_dependencies(out, target)
        _copy_package(out)
        stamp_path.write_text(json.dumps(wanted, indent=2) + "\n")
    return out


def _build_dependencies(out: Path, target: Target) -> None:
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--no-compile",  # .pyc files for this machine's Python would be dead weight on 3.14
        "--platform",
        target.platform,
        "--implementation",
        "cp",
        "--python-version",
        target.python_version,
        "--only-binary=:all:",  # no sdist builds: they would compile for this machine
        "--target",
        str(staging),
        "-r",
        str(REQUIREMENTS),
        "-c",
        str(CONSTRAINTS),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BundleError(
            f"pip could not install the function's dependencies for Python {target.python_version}"
            f" on {target.platform} (is every one published as a wheel for it, and is PyPI "
            f"reachable?):\n{result.stderr.strip()}"
        )
    check_wheels(staging, target, _requirement_names(REQUIREMENTS.read_text()))
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: never run in Lambda
    prune_botocore_models(staging, AWS_SERVICES)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)


def prune_botocore_models(site: Path, services: Iterable[str]) -> None:
    """Keep the botocore models of `services` only; the shared data files stay."""
    data = site / "botocore" / "data"
    if not data.is_dir():
        raise BundleError(f"botocore's models are not where expected: {data}")
    kept = set(services)
    missing = kept - {p.name for p in data.iterdir() if p.is_dir()}
    if missing:
        raise BundleError(f"botocore has no model for: {', '.join(sorted(missing))}")
    for path in data.iterdir():
        if path.is_dir() and path.name not in kept:
            shutil.rmtree(path)


def check_wheels(site: Path, target: Target, required: Iterable[str]) -> None:
    """Fail unless every distribution in `site` is a wheel the runtime can load, and every
    required distribution is there."""
    installed: dict[str, list[str]] = {}
    for wheel_file in site.glob("*.dist-info/WHEEL"):
        # "<name>-<version>.dist-info", the name with "-" already written as "_"
        name = _normalize(wheel_file.parent.name.split("-", 1)[0])
        tags = [
            line.split(":", 1)[1].strip()
            for line in wheel_file.read_text().splitlines()
            if line.startswith("Tag:")
        ]
        installed[name] = tags
    problems = [
        f"{name}: built for {', '.join(tags) or 'nothing'}"
        for name, tags in sorted(installed.items())
        if not any(_loadable(tag, target) for tag in tags)
    ]
    problems += [
        f"{name}: not installed"
        for name in sorted({_normalize(r) for r in required} - installed.keys())
    ]
    if problems:
        raise BundleError(
            f"the bundle does not run on Python {target.python_version} {target.platform}:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


def _loadable(tag: str, target: Target) -> bool:
    """Whether Lambda's runtime can import a wheel with this tag (interpreter-abi-platform)."""
    _interpreter, abi, platform = tag.split("-")
    if platform == "any":
        return abi == "none"
    return (
        abi in (target.abi, "abi3", "none")
        and platform.startswith("manylinux")
        and platform.endswith("_aarch64")
    )


def _copy_package(out: Path) -> None:
    destination = out / PACKAGE
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(LAMBDA_SOURCE / PACKAGE, destination, ignore=_IGNORED)


def _dependencies_hash(target: Target) -> str:
    digest = hashlib.sha256()
    for part in (
        BUILD_FORMAT,
        target.python_version,
        target.platform,
        *AWS_SERVICES,
        *_significant_lines(REQUIREMENTS),
        "--constraints--",
        *_significant_lines(CONSTRAINTS),
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def _significant_lines(path: Path) -> list[str]:
    """The file's requirement lines, sorted, without comments: reordering or re-commenting a
    pin (as `make lock` may) does not call for a rebuild that needs the network."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return sorted(line for line in lines if line)


def _code_hash() -> str:
    digest = hashlib.sha256()
    for path in _package_files():
        digest.update(str(path.relative_to(LAMBDA_SOURCE)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _package_files() -> list[Path]:
    return sorted(
        path
        for path in (LAMBDA_SOURCE / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def _requirement_names(requirements: str) -> list[str]:
    names = []
    for raw in requirements.splitlines():
        line = raw.split("#", 1)[0].strip()
        match = _REQUIREMENT_NAME.match(line)
        if match and not line.startswith("-"):
            names.append(match.group(1))
    return names


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _read_stamp(path: Path) -> dict[str, str]:
    try:
        stamp = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One build at a time: tests and `cdk synth` may run side by side."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
