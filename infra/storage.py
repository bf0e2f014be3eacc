"""The snapshot table: what the notifier last told people, per entity (see snapshot.py)."""

from __future__ import annotations

import aws_cdk.aws_dynamodb as dynamodb
from aws_cdk import RemovalPolicy
from constructs import Construct

from infra.constants import PARTITION_KEY, SORT_KEY


class SnapshotStorage(Construct):
    """One DynamoDB table keyed pk (S) / sk (S), the layout snapshot.py reads and writes."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.STRING),
            # A few hundred small requests every few minutes: on-demand costs cents, and there is
            # no capacity to size or to throttle a large organization's first run.
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # The AWS managed key (aws/dynamodb): encrypted with KMS and audited in CloudTrail,
            # without a key policy to keep right or a grant on the function's role. Nothing reads
            # the table across accounts, which is what a customer-managed key would be for.
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # Losing the snapshot would make the next run a baseline again: people would miss the
            # transitions in between. Keep it through stack deletion and against accidents.
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
