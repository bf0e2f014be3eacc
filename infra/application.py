"""The CDK app as app.py builds it; tests build it the same way."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, IStackSynthesizer, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import AppConfig
from infra.stack import NotifierStack


def add_notifier(
    app: App,
    config: AppConfig,
    code: Path,
    *,
    synthesizer: IStackSynthesizer | None = None,
) -> NotifierStack:
    """Add the notifier's stack to `app`, checked by cdk-nag's AwsSolutions pack on synth.

    An unacknowledged finding fails the synth; acknowledgments sit beside what they excuse.
    """
    stack = NotifierStack(app, config.stack_name, config=config, code=code, synthesizer=synthesizer)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack
