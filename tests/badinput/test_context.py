"""Bad CDK context stops the synth: unknown keys (with the nearest known one), regions botocore
does not know, schedules EventBridge would refuse (naming the field), and an environment over
Lambda's 4 KB. Every problem names its key with a valid example, all of them at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import botocore
import pytest
from aws_cdk import App

from infra import REPO_ROOT
from infra.config import EXAMPLES, AppConfig, ContextError, unknown_key_problems
from infra.environment import LIMIT_BYTES, function_environment, measured_size

# The repository's pinned CLI, run from another directory.
CLI = ("--prefix", str(REPO_ROOT), "--no-install", "cdk")
OFFLINE = ("--quiet", "--no-notices")
QUIET = {
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "CDK_DISABLE_VERSION_CHECK": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}


def problems_of(**context: Any) -> list[str]:
    with pytest.raises(ContextError) as caught:
        AppConfig.from_context(context.get, present=context)
    return caught.value.problems


def synth(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The pinned CDK CLI synthesizing the app from `project` (its cdk.json), offline."""
    npx = shutil.which("npx")
    assert npx is not None, "node and npm are needed for the pinned CDK CLI (make setup)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    return subprocess.run(
        [npx, *CLI, "synth", *args, *OFFLINE, "--output", str(project / "cdk.out")],
        cwd=project,
        env={**env, **QUIET, "AWS_CONFIG_FILE": os.devnull},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def project_with(tmp_path: Path, **context: Any) -> Path:
    """A directory whose cdk.json runs this repository's app with cdk.json's context plus
    `context`."""
    shipped = json.loads((REPO_ROOT / "cdk.json").read_text())
    cdk_json = {
        "app": f"{REPO_ROOT / '.venv' / 'bin' / 'python'} {REPO_ROOT / 'app.py'}",
        "context": {**shipped["context"], **context},
    }
    (tmp_path / "cdk.json").write_text(json.dumps(cdk_json))
    return tmp_path


# --- unknown keys -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_mistyped_key_on_the_command_line_stops_the_synth(tmp_path: Path) -> None:
    # Given the shipped cdk.json
    project = project_with(tmp_path)
    # When a key is mistyped with -c (singular "notificationEmail")
    result = synth(project, "-c", "notificationEmail=me@example.com")
    # Then the synth fails, suggesting the real key with an example, and writes no template
    assert result.returncode != 0
    assert (
        '  - notificationEmail: not a setting of this app; did you mean "notificationEmails"? '
        f"for example {EXAMPLES['notificationEmails']}" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not list((project / "cdk.out").glob("*.template.json"))


@pytest.mark.slow
def test_a_mistyped_key_in_cdk_json_stops_the_synth(tmp_path: Path) -> None:
    # Given a cdk.json with a key in the wrong case
    project = project_with(tmp_path, baselinemode="all")
    # When the app is synthesized
    result = synth(project)
    # Then it fails, naming the key and the one meant
    assert result.returncode != 0
    assert '  - baselinemode: not a setting of this app; did you mean "baselineMode"?' in (
        result.stderr
    )


def test_cdk_s_own_context_keys_are_not_settings_of_the_app() -> None:
    # Given the keys the CDK CLI and aws-cdk-lib put in context themselves
    own = {
        "@aws-cdk/core:newStyleStackSynthesis": True,
        "@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver": True,
        "aws:cdk:enable-path-metadata": True,
        "aws:cdk:bundling-stacks": ["**"],
        "availability-zones:account=123456789012:region=us-east-1": ["us-east-1a"],
        "acknowledged-issue-numbers": [32775],
        "cli-telemetry": False,
    }
    # When an App holds them beside the app's own keys, then they are accepted
    app = App(context={**own, "regions": "eu-west-1"})
    config = AppConfig.from_context(app.node.try_get_context, present=app.node.get_all_context())
    assert config.regions == ("eu-west-1",)


def test_a_key_far_from_every_setting_lists_the_settings() -> None:
    [problem] = unknown_key_problems(["colour"])
    assert problem.startswith("colour: not a setting of this app; the settings are stackName, ")
    assert f"for example {EXAMPLES['regions']}" in problem


# --- regions ----------------------------------------------------------------------------------


def test_a_region_botocore_does_not_know_is_refused_with_the_nearest_and_the_escape() -> None:
    # When a region has the shape of the aws partition's names but does not exist
    [problem] = problems_of(regions=["us-east-1", "us-east-99"])
    # Then it is named, with the nearest known region, the SDK version and the escape
    assert problem.startswith("regions: 'us-east-99' is not a region botocore ")
    assert f"botocore {botocore.__version__} knows in the aws partition" in problem
    assert "(did you mean 'us-east-" in problem
    assert 'list it in "unlistedRegions" too' in problem
    assert problem.endswith(f"for example {EXAMPLES['regions']}")


def test_a_region_newer_than_the_sdk_is_accepted_when_listed_as_unlisted() -> None:
    # Given a region name the pinned botocore does not list, in the aws partition's shape
    context = {"regions": ["us-east-1", "eu-central-3"], "unlistedRegions": ["eu-central-3"]}
    # When it is also listed in unlistedRegions, then it is watched
    config = AppConfig.from_context(context.get, present=context)
    assert config.regions == ("us-east-1", "eu-central-3")
    assert config.unlisted_regions == ("eu-central-3",)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (
            {"regions": ["us-east-1"], "unlistedRegions": ["eu-central-3"]},
            "unlistedRegions: 'eu-central-3' is not in \"regions\"",
        ),
        (
            {"regions": ["xx-nowhere-1"], "unlistedRegions": ["xx-nowhere-1"]},
            "regions: 'xx-nowhere-1' is not a region name of any AWS partition",
        ),
        (
            {"regions": ["us-east-1", "cn-north-1"]},
            "regions: the regions are in different partitions (aws, aws-cn)",
        ),
    ],
)
def test_the_escape_is_no_way_around_the_partition(context: dict[str, Any], expected: str) -> None:
    assert any(p.startswith(expected) for p in problems_of(**context)), problems_of(**context)


# --- schedules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ("cron(99 * * * ? *)", "the Minutes field '99' has 99, out of its range 0-59"),
        ("cron(0 24 * * ? *)", "the Hours field '24' has 24, out of its range 0-23"),
        ("cron(0 8 32 * ? *)", "the Day-of-month field '32' has 32, out of its range 1-31"),
        ("cron(0 8 1 13 ? *)", "the Month field '13' has 13, out of its range 1-12"),
        ("cron(0 8 ? * 8 *)", "the Day-of-week field '8' has 8, out of its range 1-7"),
        ("cron(0 8 1 * ? 2200)", "the Year field '2200' has 2200, out of its range 1970-2199"),
        ("cron(0/0 * * * ? *)", "the Minutes field '0/0' has the increment '0'"),
        ("cron(0 8 ? * MON#6 *)", "the number after # is the week of the month, 1-5"),
        ("cron(0 8 L * ? *)", None),
        ("cron(0 8 * * ? L)", "the Year field 'L' has 'L', which is not a value"),
        ("cron(0 8 * * * *)", "exactly one of Day-of-month and Day-of-week must be '?'"),
        ("rate(5 weeks)", "the unit 'weeks' is not one of minute(s), hour(s), day(s)"),
        ("rate(1.5 hours)", "the value '1.5' is not a positive whole number"),
    ],
)
def test_a_schedule_eventbridge_refuses_names_the_part(expression: str, field: str | None) -> None:
    if field is None:
        # A valid expression with a wildcard of its own: accepted as it is
        context = {"schedule": expression}
        assert AppConfig.from_context(context.get).schedule.expression == expression
        return
    [problem] = problems_of(schedule=expression)
    assert problem.startswith(f"schedule: {expression!r}: ")
    assert field in problem
    assert problem.endswith(f"for example {EXAMPLES['schedule']}")


# --- the function's environment ---------------------------------------------------------------

# Five delegated administrators whose roles sit deep in IAM paths, and mutes just under their own
# cap: each key within its limits, together about the 4,880 characters of the report.
ROLE_PATH = "org-platform/security-tooling/config-deployment-notifier/read-only-roles/" * 4
CROWDED = {
    "regions": "us-east-1,eu-west-1",
    "delegatedAdmins": [
        f"arn:aws:iam::{n:012d}:role/{ROLE_PATH}config-notifier-read" for n in range(1, 6)
    ],
    "mutes": [{"name": f"sandbox-pack-{n:02d}-*", "severity": "progress"} for n in range(39)],
}


def test_an_environment_over_lambda_s_4_kb_stops_the_synth_naming_the_keys() -> None:
    # Given settings each within its own limits that together fill the function's environment
    problems = problems_of(**CROWDED)
    # Then one problem says how large it would be and which keys take the room, largest first
    [problem] = problems
    assert problem.startswith("mutes, delegatedAdmins: the function's environment would be ")
    assert f"over Lambda's 4 KB ({LIMIT_BYTES:,} bytes)" in problem
    assert "regions " in problem
    assert 'for example "mutes": [{"name": "sandbox-*"}]' in problem


def test_the_size_counted_is_what_lambda_measures() -> None:
    # Given the variables of a configuration
    environment = function_environment(
        AppConfig.defaults(),
        table_name="t",
        topic_arn_prefix="arn:aws:sns:us-east-1:123456789012:t-",
    )
    # Then the size is that of the JSON object Lambda reports measuring, in UTF-8 bytes
    assert measured_size(environment) == len(json.dumps(environment, separators=(",", ":")))
    assert measured_size({"MUTES": '[{"name":"é"}]'}) == len(
        '{"MUTES":"[{\\"name\\":\\"é\\"}]"}'.encode()
    )


def test_with_half_the_mutes_the_same_settings_fit() -> None:
    # Given the crowded settings with half the mutes
    context = {**CROWDED, "mutes": CROWDED["mutes"][:22]}
    # Then they synthesize: the check refuses what does not fit, not what is merely large
    config = AppConfig.from_context(context.get, present=context)
    assert len(config.delegated_admin_role_arns) == 5


# --- all at once ------------------------------------------------------------------------------


def test_every_kind_of_problem_is_reported_at_once() -> None:
    # Given a mistyped key, an unknown region and a cron minute out of range
    problems = problems_of(
        notificationEmail="me@example.com", regions=["us-east-99"], schedule="cron(99 * * * ? *)"
    )
    # Then one error lists the three, each naming its key with an example
    assert [p.split(":")[0] for p in problems] == ["notificationEmail", "schedule", "regions"]
    assert all("for example" in p for p in problems)
