"""The deployment package: locked wheels for Lambda's Python, compiled, rebuilt only on change.

The tests marked slow use the real bundle (built once a session; pip needs the package index the
first time).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import LAMBDA_SOURCE, REPO_ROOT, bundle
from infra.bundle import BundleError, Target, check_wheels
from infra.constants import AWS_SERVICES, RUNTIME_PYTHON_VERSION

CACHE_TAG = sys.implementation.cache_tag  # "cpython-313": the runtime's, as the tests run on it


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions(site: Path) -> dict[str, str]:
    """The package's distributions, from their .dist-info directory names."""
    versions = {}
    for dist_info in site.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").split("-", 1)
        versions[_normalized(name)] = version
    return versions


def pins(path: Path) -> dict[str, str]:
    """name==version lines of a requirements file (hash and comment lines aside)."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if match:
            found[_normalized(match.group(1))] = match.group(2)
    return found


def locked_hashes(lock: Path) -> dict[str, list[str]]:
    """Each locked distribution's --hash values."""
    hashes: dict[str, list[str]] = {}
    current = None
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", line)
        if match:
            current = _normalized(match.group(1))
            hashes[current] = []
        elif current and (hashed := re.search(r"--hash=(sha256:[0-9a-f]{64})", line)):
            hashes[current].append(hashed.group(1))
    return hashes


def pyc_header(pyc: Path) -> tuple[int, bytes]:
    """A bytecode file's flags and the source hash it carries (PEP 552)."""
    header = pyc.read_bytes()[:16]
    return int.from_bytes(header[4:8], "little"), header[8:16]


def fake_dist(site: Path, name: str, *tags: str) -> None:
    dist_info = site / f"{name}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "WHEEL").write_text(
        "Wheel-Version: 1.0\n" + "".join(f"Tag: {tag}\n" for tag in tags)
    )


@pytest.mark.slow
def test_the_package_s_distributions_are_exactly_the_lock_s(lambda_bundle: Path) -> None:
    # Then the handler's package is there
    assert (lambda_bundle / "config_notifier" / "handler.py").is_file()
    # And the installed distributions, by name and version, are the locked ones: none more, none
    # fewer, none at another version
    assert installed_versions(lambda_bundle) == pins(bundle.LOCK)


def test_the_lock_pins_with_hashes_what_the_tests_run_with() -> None:
    # Given the function's lock, its requirements and the tests' constraints
    locked = pins(bundle.LOCK)
    hashes = locked_hashes(bundle.LOCK)
    constraints = pins(REPO_ROOT / "constraints.txt")
    # Then every requirement is locked at the version it names
    for name, version in pins(bundle.REQUIREMENTS).items():
        assert locked[name] == version, name
    # And every locked distribution carries the hashes pip checks, at the version the tests run
    for name, version in locked.items():
        assert hashes[name], f"{name} has no hash"
        assert constraints[name] == version, f"{name}: tests run {constraints[name]}"


@pytest.mark.slow
def test_package_copy_is_identical_to_the_source(lambda_bundle: Path) -> None:
    source = LAMBDA_SOURCE / "config_notifier"
    for path in source.glob("*.py"):
        shipped = lambda_bundle / "config_notifier" / path.name
        if path.name in bundle.OPERATOR_ONLY:
            assert not shipped.exists(), path.name  # the operator's CLI: never imported
        else:
            assert shipped.read_bytes() == path.read_bytes()


@pytest.mark.slow
def test_compiled_dependencies_are_built_for_the_runtime_on_this_architecture(
    lambda_bundle: Path,
) -> None:
    # wrapt (from aws-xray-sdk) has a C extension: the build for CPython 3.13 on this machine's
    # processor, the function's (tests/infra/test_runtime_client.py loads it)
    extensions = list((lambda_bundle / "wrapt").glob("*.so"))
    assert [e.name for e in extensions] == [f"_wrappers.{CACHE_TAG}-x86_64-linux-gnu.so"]
    assert not [p for p in lambda_bundle.rglob("*.so") if "aarch64" in p.name]


@pytest.mark.slow
def test_every_module_ships_its_bytecode_for_the_runtime_unchecked(lambda_bundle: Path) -> None:
    # Given every module of the package
    sources = list(lambda_bundle.rglob("*.py"))
    assert lambda_bundle / "botocore" / "client.py" in sources
    for source in sources:
        # Then its bytecode for the runtime's Python is beside it
        pyc = source.parent / "__pycache__" / f"{source.stem}.{CACHE_TAG}.pyc"
        flags, source_hash = pyc_header(pyc)
        # And it is hash-based and unchecked (flags 0b01): imported without reading the source
        assert flags == 0b01, source
        # And compiled from exactly this source: an unchecked file of older code would run
        assert source_hash == importlib.util.source_hash(source.read_bytes()), source
    # And there is no bytecode of anything else, or for another Python
    stray = [
        p
        for p in lambda_bundle.rglob("*.pyc")
        if not p.name.endswith(f".{CACHE_TAG}.pyc")
        or not (p.parent.parent / f"{p.name.split('.')[0]}.py").is_file()
    ]
    assert stray == []


@pytest.mark.slow
def test_compiling_again_gives_the_same_bytes(lambda_bundle: Path, tmp_path: Path) -> None:
    # Given copies of the function's package and of a dependency, without their bytecode
    code = tmp_path / "config_notifier"
    site = tmp_path / "site"
    shutil.copytree(lambda_bundle / "config_notifier", code, ignore=bundle._IGNORED)
    shutil.copytree(lambda_bundle / "jmespath", site / "jmespath", ignore=bundle._IGNORED)

    # When they are compiled as the build compiles them, in another directory
    bundle.compile_bytecode(code, Target(), f"{bundle.TASK_ROOT}/config_notifier")
    bundle.compile_bytecode(site, Target())

    # Then every bytecode file is byte for byte the shipped one
    for copy, shipped in ((code, lambda_bundle / "config_notifier"), (site, lambda_bundle)):
        compiled = sorted(copy.rglob("*.pyc"))
        assert compiled
        for pyc in compiled:
            assert pyc.read_bytes() == (shipped / pyc.relative_to(copy)).read_bytes(), pyc


def test_bytecode_for_another_python_is_refused(tmp_path: Path) -> None:
    # Given a target Python that is not the one running
    other = Target(python_version="3.12")
    # When the package is compiled for it, then it is refused, saying which Python to use
    with pytest.raises(BundleError, match=r"compiled by the runtime's Python, 3\.12"):
        bundle.compile_bytecode(tmp_path, other)


@pytest.mark.slow
def test_nothing_the_function_never_imports_is_shipped(lambda_bundle: Path) -> None:
    # Then what the function never imports is gone: Powertools' event handler first of all
    assert not (lambda_bundle / "aws_lambda_powertools" / "event_handler").exists()
    assert [p for p in bundle.NEVER_IMPORTED if (lambda_bundle / p).exists()] == []
    # And what it does import is there
    assert (lambda_bundle / "aws_lambda_powertools" / "logging" / "logger.py").is_file()
    assert (lambda_bundle / "aws_xray_sdk" / "ext" / "botocore" / "patch.py").is_file()


def test_pruning_a_path_that_is_not_there_fails(tmp_path: Path) -> None:
    # Given a site with one of two paths to prune
    (tmp_path / "present").mkdir()
    # When it is pruned, then the missing one is named, and nothing is removed
    with pytest.raises(BundleError, match="absent"):
        bundle.prune_unused(tmp_path, ["present", "absent"])
    assert (tmp_path / "present").is_dir()


def test_wheel_check_rejects_a_wheel_for_another_platform(tmp_path: Path) -> None:
    # Given a pure wheel, an abi3 x86_64 wheel and an aarch64 one
    fake_dist(tmp_path, "pure", "py3-none-any")
    fake_dist(tmp_path, "stable_abi", "cp38-abi3-manylinux_2_17_x86_64")
    fake_dist(tmp_path, "other_arch", "cp313-cp313-manylinux_2_17_aarch64")

    # When they are checked
    with pytest.raises(BundleError) as caught:
        check_wheels(tmp_path, Target(), ["pure"])

    # Then only the aarch64 one is reported
    problems = [line for line in str(caught.value).splitlines() if line.startswith("  - ")]
    assert problems == ["  - other-arch: built for cp313-cp313-manylinux_2_17_aarch64"]


def test_wheel_check_rejects_a_wheel_for_another_python(tmp_path: Path) -> None:
    fake_dist(tmp_path, "old_python", "cp311-cp311-manylinux_2_17_x86_64")
    with pytest.raises(BundleError, match="old-python: built for cp311"):
        check_wheels(tmp_path, Target(), [])


def test_wheel_check_reports_a_missing_requirement(tmp_path: Path) -> None:
    fake_dist(tmp_path, "boto3", "py3-none-any")
    with pytest.raises(BundleError, match="aws-lambda-powertools: not installed"):
        check_wheels(tmp_path, Target(), ["boto3", "aws-lambda-powertools"])


@pytest.mark.slow
def test_unchanged_inputs_build_nothing(
    lambda_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a built bundle, and no pip (offline)
    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran although nothing changed")

    monkeypatch.setattr(subprocess, "run", no_pip)
    marker = lambda_bundle / "config_notifier" / "handler.py"
    before = marker.stat().st_mtime_ns

    # When it is built again
    assert bundle.build() == lambda_bundle

    # Then nothing was rebuilt or copied
    assert marker.stat().st_mtime_ns == before


@pytest.mark.slow
def test_a_code_change_recopies_the_package_without_pip(
    lambda_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a copy of the bundle whose stamp records other code, with a file the source lacks
    out = tmp_path / "lambda"
    shutil.copytree(lambda_bundle, out, symlinks=True)
    stamp = json.loads(lambda_bundle.with_name("lambda.stamp.json").read_text())
    out.with_name("lambda.stamp.json").write_text(json.dumps({**stamp, "code": "older"}))
    (out / "config_notifier" / "removed_module.py").write_text("")

    compile_only = subprocess.run

    def no_pip(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        if command[1:3] == ["-m", "pip"]:
            raise AssertionError("pip ran although only the code changed")
        return compile_only(command, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(subprocess, "run", no_pip)

    # When it is built
    bundle.build(out)

    # Then the package is the source's again, compiled, and the stamp records the code
    assert not (out / "config_notifier" / "removed_module.py").exists()
    assert (out / "config_notifier" / "__pycache__" / f"handler.{CACHE_TAG}.pyc").read_bytes() == (
        lambda_bundle / "config_notifier" / "__pycache__" / f"handler.{CACHE_TAG}.pyc"
    ).read_bytes()
    assert (out / "config_notifier" / "handler.py").read_bytes() == (
        LAMBDA_SOURCE / "config_notifier" / "handler.py"
    ).read_bytes()
    new_stamp = json.loads(out.with_name("lambda.stamp.json").read_text())
    assert new_stamp["dependencies"] == stamp["dependencies"]
    assert new_stamp["code"] != "older"


@pytest.mark.slow
def test_a_dependency_change_rebuilds_with_pip(
    lambda_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bundle stamped with other dependencies
    out = tmp_path / "lambda"
    out.mkdir()
    stamp = json.loads(lambda_bundle.with_name("lambda.stamp.json").read_text())
    out.with_name("lambda.stamp.json").write_text(json.dumps({**stamp, "dependencies": "older"}))
    commands: list[list[str]] = []

    def failing_pip(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return subprocess.CompletedProcess(command, 1, "", "no network")

    monkeypatch.setattr(subprocess, "run", failing_pip)

    # When it is built, pip is asked for the locked wheels, by hash, for Lambda's Python 3.13
    with pytest.raises(BundleError, match="no network"):
        bundle.build(out)
    (command,) = commands
    for flag, value in [
        ("--platform", "manylinux2014_x86_64"),
        ("--python-version", RUNTIME_PYTHON_VERSION),
        ("--implementation", "cp"),
        ("-r", str(bundle.LOCK)),
    ]:
        assert command[command.index(flag) + 1] == value
    assert "--only-binary=:all:" in command
    assert "--require-hashes" in command
    # And the failed build is not mistaken for a good one next time
    assert not out.with_name("lambda.stamp.json").exists()


@pytest.mark.slow
def test_bundle_keeps_the_botocore_models_of_the_services_the_function_uses(
    lambda_bundle: Path,
) -> None:
    # Then only those models are left, with botocore's shared data beside them
    data = lambda_bundle / "botocore" / "data"
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == sorted(AWS_SERVICES)
    assert (data / "endpoints.json").is_file()


def test_the_function_creates_clients_only_for_the_bundled_services() -> None:
    # Given every boto3 client the function's code creates, by service name (the operator's
    # command line is not in the package: it reads CloudFormation and Lambda)
    source = "\n".join(
        p.read_text()
        for p in (LAMBDA_SOURCE / "config_notifier").glob("*.py")
        if p.name not in bundle.OPERATOR_ONLY
    )
    created = set(re.findall(r"""client\(\s*["']([a-z0-9-]+)["']""", source))
    # Then each one's model is in the bundle (an unknown service fails in Lambda, not here)
    assert created
    assert created <= set(AWS_SERVICES)


@pytest.mark.slow
def test_the_bundled_handler_sets_up_its_clients(lambda_bundle: Path) -> None:
    # Given the deployment package alone on the path (no virtualenv packages; -B: it is left as
    # shipped)
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1]]\n"
        "import config_notifier.handler as h, botocore\n"
        "assert botocore.__file__.startswith(sys.argv[1]), botocore.__file__\n"
        "d = h.settings() and h.dependencies()\n"
        "print(d.config_client('eu-west-1').meta.endpoint_url)\n"
        "print(d.snapshot._client.meta.endpoint_url, d.publisher._client.meta.endpoint_url)\n"
    )
    env = {
        "SNAPSHOT_TABLE_NAME": "notifier-snapshot",
        "TOPIC_ARN_PREFIX": "arn:aws:sns:us-east-1:123456789012:deployments-",
        "REGIONS": "us-east-1,eu-west-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": "/usr/bin:/bin",
    }
    # When the handler is imported and builds its clients from it
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", probe, str(lambda_bundle)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    # Then every client finds its model and AWS's own endpoint (the package's endpoints.json
    # keeps only these services)
    assert result.stdout.split() == [
        "https://config.eu-west-1.amazonaws.com",
        "https://dynamodb.us-east-1.amazonaws.com",
        "https://sns.us-east-1.amazonaws.com",
    ], result.stderr
