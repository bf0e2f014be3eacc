"""The function's deployment package, built without docker: locked wheels for the Lambda runtime.

`pip install --require-hashes --platform <Lambda's> --python-version <runtime's>` (wheels only)
installs exactly the wheels lambda/requirements.lock names, by hash, as the runtime can load them,
whatever machine runs the synth; the function's package is copied in beside them. What the function
never imports is left out, and every module is compiled to bytecode by the runtime's Python (the
one the tests run on), hash-based and unchecked: every execution environment starts from the
unpacked package, so a module shipped without bytecode is compiled on every cold start; and these
files are the same bytes on every rebuild, so an unchanged package keeps its asset hash.
Two content hashes decide what needs doing:
- the dependencies' (lock, runtime version, platform, interpreter): pip runs only when it changes,
  so repeated synths are fast and work offline once the wheels are installed;
- the code's (every file of lambda/config_notifier): a change re-copies the package only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
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
# Every distribution of the package, pinned with its hashes (`make lock` writes it).
LOCK = LAMBDA_SOURCE / "requirements.lock"
# Bump when the way the bundle is built changes, so old builds are not reused.
BUILD_FORMAT = "4"
# Where Lambda unpacks the package: the file name compiled into each module's bytecode, so the
# bytes do not depend on where the package was built (an import from the package replaces it
# with the module's real path anyway).
TASK_ROOT = "/var/task"
# What the function never imports (found by importing the handler and running it, with tracing on
# and off, from the package alone, and listing sys.modules): left out of the package, 4.3 of its
# 10.1 MB. tests/infra/test_runtime_client.py runs what is left as Lambda does.
NEVER_IMPORTED = (
    # Powertools: the function uses its Logger, Metrics and Tracer, nothing else.
    "aws_lambda_powertools/event_handler",  # API Gateway, AppSync, Bedrock... routers: 2.7 MB
    "aws_lambda_powertools/middleware_factory",
    *(
        f"aws_lambda_powertools/utilities/{utility}"
        for utility in (
            "auth_alpha",
            "batch",
            "circuit_breaker",
            "data_classes",
            "data_masking",
            "feature_flags",
            "idempotency",
            "kafka",
            "metadata",
            "parameters",
            "parser",
            "serialization.py",
            "streaming",
            "typing",  # type hints only: the handler imports it when type checking
            "validation",
        )
    ),
    # boto3: clients only; the models of its resource objects and the examples of its docs.
    "boto3/data",
    "boto3/examples",
    "urllib3/contrib/emscripten",  # urllib3 inside a web browser (Pyodide)
    "wrapt/_wrappers.c",  # the source of wrapt's extension, which is shipped compiled
    "wrapt-stubs",  # type stubs
    # The X-Ray SDK's patches for libraries the package does not have: the Tracer's patch_all
    # imports each patch and skips those that fail to import, as these would without the library.
    *(
        f"aws_xray_sdk/ext/{library}"
        for library in (
            "aiobotocore",
            "aiohttp",
            "bottle",
            "django",
            "flask",
            "flask_sqlalchemy",
            "httplib",
            "httpx",
            "mysql",
            "pg8000",
            "pymongo",
            "pymysql",
            "pynamodb",
            "sqlalchemy",
            "sqlalchemy_core",
        )
    ),
)
# The operator's command line (config-notifier, installed in .venv) and its dry run: the function
# never imports them.
OPERATOR_ONLY = ("cli.py", "dry_run.py")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", *OPERATOR_ONLY)
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

    @property
    def machine(self) -> str:
        """The platform's processor: "x86_64" of "manylinux2014_x86_64"."""
        return self.platform.split("_", 1)[1]


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
        _copy_package(out, target)
        stamp_path.write_text(json.dumps(wanted, indent=2) + "\n")
    return out


def package_size(package: Path) -> tuple[int, int]:
    """The package's unzipped size in bytes, and its number of files."""
    files = [path for path in package.rglob("*") if path.is_file()]
    return sum(path.stat().st_size for path in files), len(files)


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
        "--require-hashes",  # each file pip takes must be one the lock names by hash
        "--no-compile",  # compiled below, reproducibly
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
        str(LOCK),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BundleError(
            f"pip could not install the function's locked dependencies ({LOCK.name}) for Python "
            f"{target.python_version} on {target.platform} (is every one published as a wheel for "
            f"it, with the hash the lock names, and is the package index reachable?):\n"
            f"{result.stderr.strip()}"
        )
    check_wheels(staging, target, _requirement_names(REQUIREMENTS.read_text()))
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: never run in Lambda
    prune_botocore_models(staging, AWS_SERVICES)
    prune_unused(staging)
    compile_bytecode(staging, target)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)


def compile_bytecode(root: Path, target: Target, location: str = TASK_ROOT) -> None:
    """Compile every module under `root` (unpacked at `location` in Lambda) for the runtime, the
    same bytes on every rebuild.

    Unchecked-hash bytecode: the runtime imports it without reading the source (no timestamp in
    it to differ between builds). A fixed hash seed orders the frozensets compiled into it, and a
    fresh interpreter per call compiles the same way each time.
    """
    running = "{}.{}".format(*sys.version_info[:2])
    if running != target.python_version:
        raise BundleError(
            f"the package's bytecode is compiled by the runtime's Python, {target.python_version},"
            f" and this is Python {running} ({sys.executable}): build with .venv/bin/python"
            " (`make setup` makes .venv on it)"
        )
    script = (
        "import compileall, sys\n"
        "from py_compile import PycInvalidationMode\n"
        "ok = compileall.compile_dir(sys.argv[1], ddir=sys.argv[2], quiet=1, workers=1,\n"
        "    invalidation_mode=PycInvalidationMode.UNCHECKED_HASH)\n"
        "sys.exit(0 if ok else 1)\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-S", "-c", script, str(root), location],
        env={**environment, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BundleError(f"compiling {root} failed:\n{result.stdout}{result.stderr}".strip())


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
    # endpoints.json (1.2 MB) is parsed whole on the first client; its partitions stay, with
    # the entries of the kept services only.
    endpoints_file = data / "endpoints.json"
    endpoints = json.loads(endpoints_file.read_text())
    for partition in endpoints["partitions"]:
        partition["services"] = {
            name: entry for name, entry in partition["services"].items() if name in kept
        }
    endpoints_file.write_text(json.dumps(endpoints, separators=(",", ":")))


def prune_unused(site: Path, paths: Iterable[str] = NEVER_IMPORTED) -> None:
    """Remove what the function never imports; each path must be there, so the list stays true."""
    missing = [path for path in paths if not (site / path).exists()]
    if missing:
        raise BundleError(
            "these are no longer in the installed dependencies; update bundle.NEVER_IMPORTED: "
            + ", ".join(missing)
        )
    for path in paths:
        target = site / path
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()


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
        and platform.endswith("_" + target.machine)
    )


def _copy_package(out: Path, target: Target) -> None:
    destination = out / PACKAGE
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(LAMBDA_SOURCE / PACKAGE, destination, ignore=_IGNORED)
    compile_bytecode(destination, target, f"{TASK_ROOT}/{PACKAGE}")


def _dependencies_hash(target: Target) -> str:
    digest = hashlib.sha256()
    for part in (
        BUILD_FORMAT,
        target.python_version,
        target.platform,
        platform.python_version(),  # the interpreter that compiles the bytecode
        *AWS_SERVICES,
        *NEVER_IMPORTED,
        *_significant_lines(REQUIREMENTS),
        "--lock--",
        *_significant_lines(LOCK),
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def _significant_lines(path: Path) -> list[str]:
    """The file's requirement and hash lines, sorted, without comments: reordering or
    re-commenting a pin (as `make lock` may) does not call for a rebuild that needs the network."""
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
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix != ".pyc"
        and path.name not in OPERATOR_ONLY
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
