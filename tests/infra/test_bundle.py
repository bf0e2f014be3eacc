"""The deployment package: pinned wheels for Lambda's arm64 Python, the code, rebuilt only on change.

The tests marked slow use the real bundle (built once a session; pip needs PyPI the first time).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import LAMBDA_SOURCE, bundle
from infra.bundle import BundleError, Target, check_wheels
from infra.constants import AWS_SERVICES


def installed_versions(site: Path) -> dict[str, str]:
    versions = {}
    for dist_info in site.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").split("-", 1)
        versions[name.replace("_", "-").lower()] = version
    return versions


def pinned_versions() -> dict[str, str]:
    pins = {}
    for line in bundle.CONSTRAINTS.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().replace("_", "-").replace(".", "-").lower()] = version.strip()
    return pins


def fake_dist(site: Path, name: str, *tags: str) -> None:
    dist_info = site / f"{name}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "WHEEL").write_text(
        "Wheel-Version: 1.0\n" + "".join(f"Tag: {tag}\n" for tag in tags)
    )


@pytest.mark.slow
def test_bundle_holds_the_package_and_its_pinned_dependencies(lambda_bundle: Path) -> None:
    # Then the handler's package is there, without bytecode from this machine
    assert (lambda_bundle / "config_notifier" / "handler.py").is_file()
    assert not list(lambda_bundle.rglob("__pycache__"))
    # And every runtime dependency, at exactly the version the tests ran with
    versions = installed_versions(lambda_bundle)
    pins = pinned_versions()
    for name in ("boto3", "botocore", "aws-lambda-powertools", "aws-xray-sdk", "wrapt"):
        assert versions[name] == pins[name], name


@pytest.mark.slow
def test_package_copy_is_identical_to_the_source(lambda_bundle: Path) -> None:
    source = LAMBDA_SOURCE / "config_notifier"
    for path in source.glob("*.py"):
        assert (lambda_bundle / "config_notifier" / path.name).read_bytes() == path.read_bytes()


@pytest.mark.slow
def test_compiled_dependencies_are_built_for_arm64_python_3_14(lambda_bundle: Path) -> None:
    # wrapt (from aws-xray-sdk) has a C extension: it must be the aarch64 build for CPython 3.14
    extensions = list((lambda_bundle / "wrapt").glob("*.so"))
    assert [e.name for e in extensions] == ["_wrappers.cpython-314-aarch64-linux-gnu.so"]
    assert not [p for p in lambda_bundle.rglob("*.so") if "x86_64" in p.name]


def test_wheel_check_rejects_a_wheel_for_another_platform(tmp_path: Path) -> None:
    # Given a pure wheel, an abi3 aarch64 wheel and an x86_64 one
    fake_dist(tmp_path, "pure", "py3-none-any")
    fake_dist(tmp_path, "stable_abi", "cp38-abi3-manylinux_2_17_aarch64")
    fake_dist(tmp_path, "other_arch", "cp314-cp314-manylinux_2_17_x86_64")

    # When they are checked
    with pytest.raises(BundleError) as caught:
        check_wheels(tmp_path, Target(), ["pure"])

    # Then only the x86_64 one is reported
    problems = [line for line in str(caught.value).splitlines() if line.startswith("  - ")]
    assert problems == ["  - other-arch: built for cp314-cp314-manylinux_2_17_x86_64"]


def test_wheel_check_rejects_a_wheel_for_another_python(tmp_path: Path) -> None:
    fake_dist(tmp_path, "old_python", "cp311-cp311-manylinux_2_17_aarch64")
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

    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran although only the code changed")

    monkeypatch.setattr(subprocess, "run", no_pip)

    # When it is built
    bundle.build(out)

    # Then the package is the source's again, and the stamp records the code, not the old one
    assert not (out / "config_notifier" / "removed_module.py").exists()
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

    # When it is built, pip is asked for wheels for Lambda's arm64 Python 3.14 only
    with pytest.raises(BundleError, match="no network"):
        bundle.build(out)
    (command,) = commands
    for flag, value in [
        ("--platform", "manylinux2014_aarch64"),
        ("--python-version", "3.14"),
        ("--implementation", "cp"),
        ("-c", str(bundle.CONSTRAINTS)),
        ("-r", str(bundle.REQUIREMENTS)),
    ]:
        assert command[command.index(flag) + 1] == value
    assert "--only-binary=:all:" in command
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
    # Given every boto3 client the function's code creates, by service name
    source = "\n".join(p.read_text() for p in (LAMBDA_SOURCE / "config_notifier").glob("*.py"))
    created = set(re.findall(r"""client\(\s*["']([a-z0-9-]+)["']""", source))
    # Then each one's model is in the bundle (an unknown service fails in Lambda, not here)
    assert created
    assert created <= set(AWS_SERVICES)


@pytest.mark.slow
def test_the_bundled_handler_sets_up_its_clients(lambda_bundle: Path) -> None:
    # Given the deployment package alone on the path (no virtualenv packages; -B: it ships no
    # bytecode and is left so)
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1]]\n"
        "import config_notifier.handler as h, botocore\n"
        "assert botocore.__file__.startswith(sys.argv[1]), botocore.__file__\n"
        "h.settings(); h.dependencies(); print('ok')\n"
    )
    env = {
        "SNAPSHOT_TABLE_NAME": "notifier-snapshot",
        "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:deployments",
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
    # Then every client finds its model
    assert result.stdout.strip() == "ok", result.stderr
