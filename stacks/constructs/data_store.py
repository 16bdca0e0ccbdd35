"""The pipeline's S3 bucket (created, or imported by name) and grants scoped to one key prefix."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.compliance import acknowledge, resource_finding
from stacks.config import PipelineConfig


class DataStore(Construct):
    """Holds the training data, the run manifests and the model artifacts, each under its own prefix.

    Grants name the prefix they are for: a principal gets exactly the object actions it needs under it, never
    the bucket-wide `grant_read`/`grant_write` families (which add s3:List* and s3:DeleteObject*).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig) -> None:
        super().__init__(scope, construct_id)
        if config.data_bucket.name is not None:
            # An existing bucket: its policy is not ours to change, so all access comes from IAM policies.
            self.bucket: s3.IBucket = s3.Bucket.from_bucket_name(self, "Bucket", config.data_bucket.name)
        else:
            self.bucket = self._create_bucket()

    def _create_bucket(self) -> s3.IBucket:
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # S3 server access logging supports SSE-S3 only
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            access_logs,
            "AwsSolutions-S1",
            "This bucket receives the data bucket's server access logs; logging it too would need a third "
            "bucket, whose own logs would raise the same question.",
        )
        return s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="data-bucket/",
            removal_policy=RemovalPolicy.RETAIN,  # training data and models outlive the stack
        )

    def objects_arn(self, prefix: str) -> str:
        """The ARN of every object under `prefix/`."""
        return self.bucket.arn_for_objects(f"{prefix}/*")

    def grant_list(self, grantee: iam.IGrantable, *prefixes: str) -> iam.Grant:
        """Allow listing the keys under the prefixes, and nothing else of the bucket."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[self.bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [pattern for p in prefixes for pattern in (p, f"{p}/*")]}},
        )

    def grant_get(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Allow reading the objects under `prefix/`."""
        return self._grant_objects(grantee, "s3:GetObject", prefix)

    def grant_put(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Allow writing objects under `prefix/` (no delete: versioning keeps what was overwritten)."""
        return self._grant_objects(grantee, "s3:PutObject", prefix)

    def _grant_objects(self, grantee: iam.IGrantable, action: str, prefix: str) -> iam.Grant:
        arn = self.objects_arn(prefix)
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=[action], resource_arns=[arn])
        principal = grantee.grant_principal
        if isinstance(principal, Construct):
            acknowledge(
                principal,
                "AwsSolutions-IAM5",
                f"Objects under the pipeline's own prefix {prefix}/: their keys (dated files, run names) are "
                "only known at run time, and the prefix is the narrowest scope that holds them.",
                applies_to=resource_finding(self, arn),
            )
        return grant
