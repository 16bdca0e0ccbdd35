"""The pipeline's S3 bucket (created, or imported by name) and grants scoped to one key prefix."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.compliance import BUCKET_REPLICATION_REASON, acknowledge, resource_finding, skip_checkov
from stacks.config import PipelineConfig


class DataStore(Construct):
    """Holds the training data, the run manifests and the model artifacts, each under its own prefix.

    Grants name the prefix they are for: a principal gets exactly the object actions it needs under it, never
    the bucket-wide `grant_read`/`grant_write` families (which add s3:List* and s3:DeleteObject*).

    A created bucket is encrypted with the pipeline's KMS key (SSE-KMS with an S3 Bucket Key): reading an
    object then takes kms:Decrypt as well as s3:GetObject, a second gate that a bucket policy mistake cannot
    open, and every use of the key is in CloudTrail. The grants add the key operations, usable through S3 only.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.created = config.data_bucket.create
        self.key: kms.IKey | None
        if config.data_bucket.name is not None:
            # An existing bucket: its policy and encryption are not ours to change, so all access comes from IAM
            # policies, and a key of its own would have to be granted by its owner.
            self.bucket: s3.IBucket = s3.Bucket.from_bucket_name(self, "Bucket", config.data_bucket.name)
            self.key = None
        else:
            self.bucket = self._create_bucket(key)
            self.key = key
        self._key_grants: set[tuple[str, str]] = set()

    def _create_bucket(self, key: kms.IKey) -> s3.IBucket:
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
        not_logged = (
            "This bucket receives the data bucket's server access logs; logging it too would need a third "
            "bucket, whose own logs would raise the same question."
        )
        acknowledge(access_logs, "AwsSolutions-S1", not_logged)
        skip_checkov(access_logs, "CKV_AWS_18", not_logged)
        acknowledge(
            access_logs,
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "S3 delivers server access logs only to a bucket whose default encryption is SSE-S3 (AES256); the "
            "logs hold request metadata, never object contents.",
        )
        acknowledge(access_logs, "NIST.800.53.R5-S3BucketReplicationEnabled", BUCKET_REPLICATION_REASON)
        bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            # One data key per bucket and period instead of a KMS request per object: requests and cost drop.
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="data-bucket/",
            removal_policy=RemovalPolicy.RETAIN,  # training data and models outlive the stack
        )
        acknowledge(bucket, "NIST.800.53.R5-S3BucketReplicationEnabled", BUCKET_REPLICATION_REASON)
        return bucket

    def send_events_to_eventbridge(self) -> bool:
        """Have S3 send the created bucket's object events to EventBridge; False for an existing bucket.

        Set on the bucket's own NotificationConfiguration: CDK's `event_bridge_enabled` would add a custom resource
        (a Lambda function and a role with s3:PutBucketNotification) to do what CloudFormation does natively. An
        existing bucket's notification settings belong to its owner, who turns EventBridge on for it.
        """
        if not self.created:
            return False
        bucket = self.bucket.node.default_child
        assert isinstance(bucket, s3.CfnBucket)
        bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
        )
        return True

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
        self._grant_key(grantee, "kms:Decrypt")
        return self._grant_objects(grantee, "s3:GetObject", prefix)

    def grant_put(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Allow writing objects under `prefix/` (no delete: versioning keeps what was overwritten)."""
        self._grant_key(grantee, "kms:GenerateDataKey")
        # Completing a multipart upload (SageMaker's model artifacts) decrypts the upload's data key.
        self._grant_key(grantee, "kms:Decrypt")
        return self._grant_objects(grantee, "s3:PutObject", prefix)

    def grant_delete(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Allow deleting objects under `prefix/` (versioning keeps the deleted version until it expires)."""
        return self._grant_objects(grantee, "s3:DeleteObject", prefix)

    def grant_object(self, grantee: iam.IGrantable, key: str, *actions: str) -> iam.Grant:
        """Allow `actions` (s3:GetObject, s3:PutObject, s3:DeleteObject) on the one object `key`, and the listing
        of its key, so a missing object reads as 404, not 403."""
        self._grant_key(grantee, "kms:Decrypt")
        if "s3:PutObject" in actions:
            self._grant_key(grantee, "kms:GenerateDataKey")
        self.grant_list(grantee, key)
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.bucket.arn_for_objects(key)]
        )

    def _grant_key(self, grantee: iam.IGrantable, action: str) -> None:
        if self.key is None:
            return
        principal = grantee.grant_principal
        who = principal.node.path if isinstance(principal, Construct) else str(id(principal))
        if (who, action) in self._key_grants:
            return  # one statement per action and principal, however many prefixes it reads or writes
        self._key_grants.add((who, action))
        stack = Stack.of(self)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[action],
            resource_arns=[self.key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}"}},
        )

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
