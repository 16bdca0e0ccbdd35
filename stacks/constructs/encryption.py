"""The pipeline's customer managed KMS key, which encrypts its data bucket and every log group at rest."""

from __future__ import annotations

import jsii
from aws_cdk import ArnFormat, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

# What CloudWatch Logs does with the key of an encrypted log group (it never needs the key pair operations).
CLOUDWATCH_LOGS_KEY_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
)


class PipelineKey(Construct):
    """A symmetric key with yearly automatic rotation, usable by CloudWatch Logs for this account's log groups.

    Retained with the stack: the data bucket outlives the stack too, and its objects cannot be read without it.
    Principals of the account use it through IAM policies (the key policy delegates to the account); the stack's
    roles get only the operations they need, through S3 (see DataStore).
    """

    def __init__(self, scope: Construct, construct_id: str, *, pipeline: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the data bucket and the log groups of retraining pipeline {pipeline}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # CloudWatch Logs encrypts and decrypts log events itself, as its regional service principal. The
        # encryption context it sends is the log group's ARN: the condition keeps the key to this account's
        # and this region's log groups.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccountAndRegion",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.{stack.url_suffix}")],
                actions=list(CLOUDWATCH_LOGS_KEY_ACTIONS),
                # In a key policy, "*" is the key itself.
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )

    @property
    def key_arn(self) -> str:
        return self.key.key_arn


@jsii.implements(IAspect)
class EncryptLogGroups:
    """Encrypt every log group of the scope with the key: the steps' groups and the state machine's alike.

    An Aspect rather than a parameter of each construct that makes a log group: no group can be forgotten.
    """

    def __init__(self, key: kms.IKey) -> None:
        self._key = key

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, logs.CfnLogGroup) and node.kms_key_id is None:
            node.kms_key_id = self._key.key_arn
