"""The notifier's CDK app deployed into the sandbox's CloudFormation (moto).

`cdk deploy` without the CDK CLI: synthesize the app as app.py builds it, with a synthesizer moto's
CloudFormation can deploy; upload the file assets where the template looks for them; create the
stack and wait. moto creates the table, topics, queue, role and function, and skips the types it
does not model (`Deployment.skipped`): subscriptions, topic and queue policies, alarms, Chatbot.
So the tools subscribe their own queues (sandbox.resources), with the filter policies the
stack's subscriptions have.

moto cannot invoke a Lambda function without docker: `sandbox.lambda_runtime.invoke` runs the
real handler in-process with `Deployment.function_environment`, the deployed function's variables.

Importing this module imports aws_cdk, which starts jsii's node process (about a second).
"""

from __future__ import annotations

import io
import json
import logging
import os
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

# jsii starts node on the first aws_cdk import; its end-of-life banner is noise here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, DefaultStackSynthesizer, IStackSynthesizer

from infra import bundle
from infra.application import add_notifier
from infra.config import AppConfig

REGION = "us-east-1"
# A fixed name: the default synthesizer's bucket name holds tokens (account, region, qualifier)
# that only a bootstrapped account resolves.
ASSET_BUCKET = "notifier-sandbox-assets"


@dataclass(frozen=True)
class Synthesized:
    """One synthesized notifier app: its settings, cloud assembly directory and template."""

    config: AppConfig
    outdir: Path
    template: dict[str, Any]

    @property
    def stack_name(self) -> str:
        return self.config.stack_name

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """The template's resources of one type, by logical id."""
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }


@dataclass(frozen=True)
class Deployment:
    """A stack moto's CloudFormation created from a synthesized template."""

    synthesized: Synthesized
    outputs: dict[str, str]
    function_environment: dict[str, str]
    # Resource types in the template that moto did not create, with how many of each.
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def topic_arn(self) -> str:
        """The json topic: where the tools' SQS subscribers listen."""
        return self.outputs["JsonTopicArn"]

    @property
    def text_topic_arn(self) -> str:
        return self.outputs["TextTopicArn"]

    @property
    def function_name(self) -> str:
        return self.outputs["FunctionName"]

    @property
    def table_name(self) -> str:
        return self.outputs["SnapshotTableName"]


def sandbox_synthesizer() -> DefaultStackSynthesizer:
    """The default synthesizer, minus what only a bootstrapped account has: the bootstrap-version
    rule (an SSM parameter) and the token-named asset bucket."""
    return DefaultStackSynthesizer(
        generate_bootstrap_version_rule=False, file_assets_bucket_name=ASSET_BUCKET
    )


def synthesize(context: Mapping[str, Any], outdir: Path, code: Path | None = None) -> Synthesized:
    """The app synthesized for moto's CloudFormation (`sandbox_synthesizer`) into `outdir`.

    `code` is the function's deployment package; by default it is built (or reused) as app.py does.
    """
    return synthesize_app(
        context, outdir, code or bundle.build(), synthesizer=sandbox_synthesizer()
    )


def synthesize_app(
    context: Mapping[str, Any],
    outdir: Path,
    code: Path,
    *,
    synthesizer: IStackSynthesizer | None = None,
    app_context: dict[str, Any] | None = None,
) -> Synthesized:
    """Build the app as app.py does (settings from `context`, cdk-nag checks included) and
    synthesize it into `outdir`. `synthesizer` None is the stack's own, as `cdk synth` uses;
    `app_context` is the App's context (cdk.json's feature flags, say)."""
    config = AppConfig.from_context(context.get, present=context)
    app = App(outdir=str(outdir), context=app_context)
    add_notifier(app, config, code, synthesizer=synthesizer)
    assembly = app.synth()
    template = assembly.get_stack_by_name(config.stack_name).template
    return Synthesized(config=config, outdir=outdir, template=template)


def deploy(
    synthesized: Synthesized,
    session: boto3.Session,
    endpoint_url: str,
    region: str = REGION,
) -> Deployment:
    """Upload the assets, create the stack in moto and wait for it; what it created."""
    clients = {
        service: session.client(service, region_name=region, endpoint_url=endpoint_url)
        for service in ("s3", "cloudformation", "lambda")
    }
    try:
        with _quiet_about_unsupported_types():
            return _create_stack(
                synthesized, clients["s3"], clients["cloudformation"], clients["lambda"]
            )
    finally:
        for client in clients.values():
            client.close()  # their pooled connections would otherwise outlive the sandbox


def _create_stack(
    synthesized: Synthesized, s3: Any, cloudformation: Any, lambda_: Any
) -> Deployment:
    try:
        s3.create_bucket(Bucket=ASSET_BUCKET)
    except ClientError as exc:
        # moto is process-wide: an earlier deployment in this process made it already.
        if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise
    upload_assets(synthesized, s3)
    cloudformation.create_stack(
        StackName=synthesized.stack_name,
        TemplateBody=json.dumps(synthesized.template),
        Capabilities=["CAPABILITY_IAM"],
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=synthesized.stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    (stack,) = cloudformation.describe_stacks(StackName=synthesized.stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    created = {
        r["LogicalResourceId"]
        for page in cloudformation.get_paginator("list_stack_resources").paginate(
            StackName=synthesized.stack_name
        )
        for r in page["StackResourceSummaries"]
    }
    skipped = Counter(
        resource["Type"]
        for logical_id, resource in synthesized.template["Resources"].items()
        if logical_id not in created
    )
    configuration = lambda_.get_function_configuration(FunctionName=outputs["FunctionName"])
    return Deployment(
        synthesized=synthesized,
        outputs=outputs,
        function_environment=dict(configuration["Environment"]["Variables"]),
        skipped=dict(sorted(skipped.items())),
    )


def upload_assets(synthesized: Synthesized, s3: Any) -> None:
    """Do what `cdk deploy` does with file assets: zip directories, put them where the template
    looks for them."""
    outdir = synthesized.outdir
    manifest = json.loads((outdir / f"{synthesized.stack_name}.assets.json").read_text())
    for asset in manifest["files"].values():
        source = outdir / asset["source"]["path"]
        if asset["source"].get("packaging") == "zip":
            buffer = io.BytesIO()
            # Stored, not deflated: the sandbox only needs the bytes, and this is 10x faster.
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
                for path in sorted(source.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(source))
            body = buffer.getvalue()
        else:
            body = source.read_bytes()
        for destination in asset["destinations"].values():
            s3.put_object(Bucket=destination["bucketName"], Key=destination["objectKey"], Body=body)


@contextmanager
def _quiet_about_unsupported_types() -> Iterator[None]:
    # moto logs and warns once per resource type it skips; `Deployment.skipped` says it once.
    # Both are process-wide settings, restored afterwards.
    moto_logger = logging.getLogger("moto")
    level = moto_logger.level
    moto_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r"Tried to parse .* not supported by moto", category=UserWarning
            )
            yield
    finally:
        moto_logger.setLevel(level)
