"""The role SageMaker assumes to run the pipeline's training jobs and to host its models."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract.names import PREDICTIONS_PREFIX, checkpoint_prefix
from stacks.compliance import INLINE_POLICY_REASON, acknowledge, resource_finding
from stacks.config import EcrImage, PipelineConfig
from stacks.constructs.data_store import DataStore


class SageMakerExecutionRole(Construct):
    """Reads the data and manifests, writes and reads the model artifacts, logs, and pulls the images."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, data: DataStore) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageMaker training jobs and endpoints of pipeline {config.name}",
        )
        acknowledge(self.role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY_REASON)
        data.grant_list(self.role, config.data_prefix, config.manifest_prefix)
        data.grant_get(self.role, config.data_prefix)
        data.grant_get(self.role, config.manifest_prefix)
        data.grant_put(self.role, config.model_prefix)
        # The same role is the model's execution role: the endpoint downloads model.tar.gz with it.
        data.grant_get(self.role, config.model_prefix)
        # A transform job (the run's batch transform, or the operator's `sagemaker-retraining transform`, offered for
        # every pipeline) reads a day's data (above) and writes its predictions under the predictions prefix,
        # mirroring the data's keys: `<predictions prefix>/<data prefix>/...`.
        predictions = (
            config.batch_transform.predictions_prefix if config.batch_transform is not None else PREDICTIONS_PREFIX
        )
        data.grant_put(self.role, f"{predictions}/{config.data_prefix}")
        if config.training.spot is not None:
            # A spot job's checkpoints (under the model prefix, read and written by the grants above): SageMaker
            # lists the job's folder to restore it into a restarted job, and deletes there what the algorithm
            # deleted locally ("If a checkpoint is deleted in the SageMaker AI container, it will also be deleted in
            # the S3 folder": Developer Guide, Checkpoints in Amazon SageMaker AI).
            checkpoints = checkpoint_prefix(config.model_prefix, "*")
            data.grant_list(self.role, checkpoints)
            data.grant_delete(self.role, checkpoints)
        if config.evaluates_models:
            # The held-out evaluation's transform jobs write each model's answers under the run's evaluation folder,
            # an evaluation script's processing job its evaluation.json.
            data.grant_put(self.role, config.evaluation_prefix)
        if config.evaluation_script is not None:
            # The script's processing job reads the models' artifacts as S3Prefix inputs, listed before downloaded.
            data.grant_list(self.role, config.model_prefix)

        self._grant_logs_and_metrics(stack)
        images = config.algorithm.ecr_images
        if config.preprocessing is not None and config.preprocessing.image is not None:
            images = (*images, config.preprocessing.image)
        if config.evaluation_script is not None and config.evaluation_script.image is not None:
            images = (*images, config.evaluation_script.image)
        if images:
            self._grant_images(stack, images)

    def _grant_logs_and_metrics(self, stack: Stack) -> None:
        """The jobs' and endpoints' logs under /aws/sagemaker/, and their metrics in SageMaker's namespaces."""

        sagemaker_logs = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[sagemaker_logs],
            )
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5",
            "SageMaker writes training and endpoint logs to groups and streams it names itself under "
            "/aws/sagemaker/ (TrainingJobs, Endpoints/<name>).",
            applies_to=resource_finding(self, sagemaker_logs),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker*"}},
            )
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5",
            "cloudwatch:PutMetricData has no resource-level permissions; the cloudwatch:namespace condition "
            "limits it to SageMaker's /aws/sagemaker namespaces. ECR's GetAuthorizationToken has none either.",
            applies_to="Resource::*",
        )

    def _grant_images(self, stack: Stack, images: Sequence[EcrImage]) -> None:
        """Pulling the configured images from their repositories (and the token ECR wants first)."""
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=sorted(
                    {
                        stack.format_arn(
                            service="ecr",
                            account=image.account,
                            region=image.region,
                            resource="repository",
                            resource_name=image.repository,
                        )
                        for image in images
                    }
                ),
            )
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    def grant_pass_role(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow passing the role to SageMaker, and to no other service (Role.grant_pass_role has no condition)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iam:PassRole"],
            resource_arns=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
