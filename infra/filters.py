"""The filter policies of the stack's subscriptions, as SNS reads them. No CDK here: the sandbox
subscribes its queues with the same policies (sandbox/resources.py)."""

from __future__ import annotations

from collections.abc import Sequence

from config_notifier.model import AUDIENCE_ATTRIBUTE, Severity

SEVERITY_ATTRIBUTE = "severity"  # the SNS message attribute email filters match on


def subscription_filter(
    audience: str, severities: Sequence[Severity] | None = None
) -> dict[str, list[str]]:
    """The copies for `audience` and, of those, only `severities` (None: all of them). SNS
    accepts a message when each attribute name of the policy matches one of its values
    (docs/design.md, "AWS facts it relies on")."""
    policy = {AUDIENCE_ATTRIBUTE: [audience]}
    if severities is not None:
        policy[SEVERITY_ATTRIBUTE] = [severity.value for severity in severities]
    return policy
