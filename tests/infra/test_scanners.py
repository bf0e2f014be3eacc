"""Independent scanners over the synthesized templates: checkov, and cfn-lint with the serverless
rules. Every finding must be listed with its reason in infra/accepted-findings.toml, and every
entry there must still be found; nothing is suppressed inside the template itself."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from infra import REPO_ROOT, findings
from sandbox.deploy import Synthesized
from tests.infra.support import VARIANTS

pytestmark = pytest.mark.slow

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
LINT_REGIONS = ["us-east-1", "eu-west-1"]
# A resource no reviewed reason covers: what a new, unexplained finding looks like.
CANARY = {"CanaryQueue": {"Type": "AWS::SQS::Queue", "Properties": {}}}


@dataclass(frozen=True, order=True)
class Found:
    tool: str
    rule: str
    resource: str  # the logical id (checkov, cfn-lint) or construct path (cdk-nag)


def cfn_lint(template: dict[str, Any]) -> set[Found]:
    matches = lint(
        json.dumps(template),
        config=ManualArgs(regions=LINT_REGIONS, append_rules=["cfn_lint_serverless.rules"]),
    )
    return {Found("cfn-lint", m.rule.id, "/".join(map(str, m.path[1:2]))) for m in matches}


def checkov(templates: dict[str, Path]) -> dict[str, set[Found]]:
    """checkov's failed checks in each template, in one run (it takes seconds to start)."""
    assert CHECKOV.exists(), "checkov is installed by `make setup` into .venv-checkov"
    files = [arg for path in templates.values() for arg in ("-f", str(path))]
    options = ["--framework", "cloudformation", "--skip-download", "--quiet", "--output", "json"]
    result = subprocess.run(
        [str(CHECKOV), *files, *options],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Exit 1 means failed checks; anything else is checkov failing.
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    found: dict[str, set[Found]] = {name: set() for name in templates}
    for check in (c for r in reports for c in r.get("results", {}).get("failed_checks", [])):
        name = next(n for n, p in templates.items() if p.name == Path(check["file_path"]).name)
        found[name].add(Found("checkov", check["check_id"], check["resource"].split(".", 1)[1]))
    return found


def nag_acknowledgments(synthesis: Synthesized) -> set[Found]:
    (metadata_file,) = synthesis.outdir.glob("*.metadata.json")
    return {
        Found("cdk-nag", rule.removeprefix("Annotation::"), path)
        for path, entries in json.loads(metadata_file.read_text()).items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule in entry["data"]
    }


def unexplained(found: set[Found]) -> list[Found]:
    return sorted(
        f
        for f in found
        if not any(a.covers(f.tool, f.rule, f.resource) for a in findings.accepted())
    )


@pytest.fixture(scope="module")
def scanned(
    synthesized: Callable[[str], Synthesized], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, set[Found]]:
    """Every variant's findings from all three scanners, and the canary's."""
    outdir = tmp_path_factory.mktemp("scan")
    templates = {name: synthesized(name).template for name in VARIANTS}
    default = templates["default"]
    templates["canary"] = {**default, "Resources": {**default["Resources"], **CANARY}}
    paths = {name: outdir / f"{name}.json" for name in templates}
    for name, path in paths.items():
        path.write_text(json.dumps(templates[name]))
    by_checkov = checkov(paths)
    return {
        name: cfn_lint(template)
        | by_checkov[name]
        | (nag_acknowledgments(synthesized(name)) if name in VARIANTS else set())
        for name, template in templates.items()
    }


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_finding_is_accepted_with_its_reason(
    scanned: dict[str, set[Found]], variant: str
) -> None:
    # Given what checkov, cfn-lint (serverless rules too) and cdk-nag report on the variant
    # Then the reviewed file gives a reason for each
    assert unexplained(scanned[variant]) == []


def test_a_finding_without_a_reason_is_caught(scanned: dict[str, set[Found]]) -> None:
    # Given the default template plus a queue nobody reviewed
    # Then exactly the queue's findings are unexplained, from both scanners
    assert unexplained(scanned["canary"]) == [
        Found("cfn-lint", "ES6000", "CanaryQueue"),
        Found("checkov", "CKV_AWS_27", "CanaryQueue"),
    ]


def test_every_accepted_finding_is_still_reported(scanned: dict[str, set[Found]]) -> None:
    # Given every finding of every variant
    found = set().union(*(scanned[variant] for variant in VARIANTS))
    # Then each entry of the file still matches one: a fixed finding leaves no stale reason
    stale = [
        (a.tool, a.rule, a.resources)
        for a in findings.accepted()
        if not any(a.covers(f.tool, f.rule, f.resource) for f in found)
    ]
    assert stale == []


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_no_resource_silences_a_scanner_itself(
    synthesized: Callable[[str], Synthesized], variant: str
) -> None:
    # Given every resource's metadata
    resources = synthesized(variant).template["Resources"]
    # Then none carries a cfn-lint or checkov suppression: reasons live in the reviewed file
    silenced = {
        logical_id: sorted(set(resource.get("Metadata", {})) & {"cfn-lint", "checkov"})
        for logical_id, resource in resources.items()
    }
    assert {k: v for k, v in silenced.items() if v} == {}


@pytest.mark.parametrize(
    "fields",
    [
        'rule = "CKV_AWS_1"\nresources = ["X*"]\n',  # no reason
        'rule = "CKV_AWS_1"\nresources = ["X*"]\nreason = "because"\n',  # not a sentence
        'rule = "CKV_AWS_1"\nreason = "Nothing reads it across accounts, so no key is needed."\n',
    ],
)
def test_the_file_refuses_an_entry_without_a_reason_or_resources(
    tmp_path: Path, fields: str
) -> None:
    # Given a findings file whose one entry lacks a reason, or the resources it covers
    path = tmp_path / "accepted-findings.toml"
    path.write_text('[[finding]]\ntool = "checkov"\n' + fields)
    # When it is read, then it is refused, naming the entry
    with pytest.raises(findings.FindingsFileError, match=r"finding 1 \(checkov CKV_AWS_1\)"):
        findings.accepted(path)
