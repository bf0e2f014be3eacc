"""The scanners' findings this project accepts, each with its reason, read from one reviewed file.

infra/accepted-findings.toml lists every finding of cdk-nag, checkov and cfn-lint (with the
serverless rules) that stays, and why. cdk-nag's acknowledgments take their reasons from it at
synth; tests/infra/test_scanners.py runs checkov and cfn-lint over the synthesized templates and
fails on a finding the file does not list, or on an entry no scanner reports any more.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

from infra import REPO_ROOT

FILE = REPO_ROOT / "infra" / "accepted-findings.toml"
TOOLS = ("cdk-nag", "checkov", "cfn-lint")


@dataclass(frozen=True, slots=True)
class Accepted:
    """One accepted finding: which tool and rule, on which resources, and why."""

    tool: str
    rule: str
    resources: tuple[str, ...]  # logical id globs (checkov, cfn-lint); construct paths (cdk-nag)
    reason: str

    def covers(self, tool: str, rule: str, resource: str) -> bool:
        return (
            tool == self.tool
            and rule == self.rule
            and any(fnmatchcase(resource, pattern) for pattern in self.resources)
        )


class FindingsFileError(ValueError):
    """infra/accepted-findings.toml is malformed: an entry without a tool, rule or reason."""


@cache
def accepted(path: Path = FILE) -> tuple[Accepted, ...]:
    """Every entry of the file, checked: a known tool, a rule, resources and a reason."""
    entries = tomllib.loads(path.read_text())["finding"]
    found = []
    for number, entry in enumerate(entries, start=1):
        tool, rule = entry.get("tool", ""), entry.get("rule", "")
        resources, reason = tuple(entry.get("resources", ())), entry.get("reason", "").strip()
        if tool not in TOOLS or not rule or not resources or len(reason) < 40:
            raise FindingsFileError(
                f"{path.name}, finding {number} ({tool} {rule}): each finding needs a tool "
                f"({', '.join(TOOLS)}), a rule, the resources it covers and a reason of a "
                "sentence or more"
            )
        found.append(Accepted(tool, rule, resources, " ".join(reason.split())))
    return tuple(found)


def reason(tool: str, rule: str) -> str:
    """The reason the file gives for accepting `rule` of `tool`."""
    for entry in accepted():
        if entry.tool == tool and entry.rule == rule:
            return entry.reason
    raise FindingsFileError(f"{FILE.name} does not list {tool} {rule}")


def acknowledge(construct: IConstruct, rule: str) -> None:
    """Acknowledge a cdk-nag rule on `construct` with the reason the file gives."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason("cdk-nag", rule)))
