"""The workflow's steps, each a function with the environment and the permissions of its job."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract import env
from contract.names import PIPELINE_TAG, endpoint_context_name
from stacks.algorithms import AlgorithmImages
from stacks.arns import RUN_RESOURCE_PATTERN, RUN_RESOURCE_REASON, optional_run_jobs, run_resources_arn, sagemaker_arn
from stacks.compliance import acknowledge, resource_finding
from stacks.config import PipelineConfig
from stacks.constructs.data_store import DataStore
from stacks.constructs.lambda_assets import LambdaAssets
from stacks.constructs.model_registry import ModelRegistry, grant_task_response
from stacks.constructs.preprocessing import PreprocessingCode
from stacks.constructs.rollout_alarms import RolloutAlarms
from stacks.constructs.sagemaker_role import SageMakerExecutionRole
from stacks.constructs.state_machine import STATE_MACHINE_NAME
from stacks.constructs.step_function import StepFunction
from stacks.constructs.watermark import Watermark

LINEAGE_LIST_REASON = (
    "Active tracing's xray:PutTraceSegments and xray:PutTelemetryRecords, and the lineage ListArtifacts, "
    "ListActions and ListContexts, have no resource-level permissions; RecordLineage lists by source URI to "
    "find the entities SageMaker or an earlier attempt already created."
)
LINEAGE_ARTIFACT_REASON = (
    "SageMaker names lineage artifacts by an id it generates at creation, so their ARNs are only known "
    "afterwards; CreateArtifact and AddAssociation take artifact/* as the narrowest scope."
)
LINEAGE_CONTEXT_REASON = (
    "SageMaker creates an endpoint's lineage context itself, named '<endpoint>-<timestamp>-aws-endpoint'; "
    "RecordLineage associates deployments with it, or with its own '<endpoint>-endpoint' where none exists."
)
# Lambda gives a function one full vCPU at 1,769 MB.
VALIDATING_MEMORY_MB = 1769


class WorkflowSteps(Construct):
    """CheckData, StartPreprocessing, StartTrainingJob, GetStatus, EvaluateModel, RequestApproval, DeployModel,
    UpdateParameters, RecordLineage, PruneModels and, after a failure, CleanUp."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        assets: LambdaAssets,
        data: DataStore,
        watermark: Watermark,
        images: AlgorithmImages,
        sagemaker: SageMakerExecutionRole,
        registry: ModelRegistry,
        rollout_alarms: RolloutAlarms | None = None,
        preprocessing: PreprocessingCode | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._assets = assets
        # The steps that start, wait for, train on or serve the preprocessing know it by this one variable.
        preprocessing_env = {env.PREPROCESSING: preprocessing.spec_json()} if preprocessing is not None else {}
        training_jobs = run_resources_arn(self, "training-job", config.name)
        processing_jobs = run_resources_arn(self, "processing-job", config.name)
        transform_jobs = run_resources_arn(self, "transform-job", config.name)
        transform_env = {env.BATCH_TRANSFORM: batch_transform_json(config)} if config.batch_transform else {}
        models = run_resources_arn(self, "model", config.name)
        endpoint_configs = run_resources_arn(self, "endpoint-config", config.name)
        endpoint = sagemaker_arn(self, "endpoint", config.endpoint.name)
        polling = config.polling

        self.check_data = self._step(
            "CheckData",
            "check_data",
            {
                env.PIPELINE_NAME: config.name,
                env.DATA_BUCKET: data.bucket.bucket_name,
                env.DATA_PREFIX: config.data_prefix,
                env.MANIFEST_PREFIX: config.manifest_prefix,
                env.WATERMARK_PARAMETER: watermark.parameter_name,
                env.WINDOW_DAYS: str(config.window_days),
                # The limits the run's manifest must fit, checked from the listing.
                env.TRAINING_VOLUME_SIZE_GB: str(config.training.volume_size_gb),
                env.MAX_FILES_PER_RUN: str(config.training.max_files_per_run),
                **preprocessing_env,
                **transform_env,
            },
            timeout=Duration.minutes(5),  # lists a window of data files and writes the run's manifest
            memory_size=1024,
        )
        data.grant_list(self.check_data.role, config.data_prefix)
        data.grant_put(self.check_data.role, config.manifest_prefix)
        # A retried attempt finds its manifest already written (PutObject with If-None-Match) and reads it back.
        data.grant_get(self.check_data.role, config.manifest_prefix)
        watermark.grant_get(self.check_data.role)
        # The overlapping-run guard lists this pipeline's running executions. The ARN is built from the
        # machine's fixed name: a reference to the state machine would be circular, it references the steps.
        iam.Grant.add_to_principal(
            grantee=self.check_data.role,
            actions=["states:ListExecutions"],
            resource_arns=[
                Stack.of(self).format_arn(
                    service="states",
                    resource="stateMachine",
                    resource_name=STATE_MACHINE_NAME.format(pipeline=config.name),
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )

        if config.slack is not None:
            # CheckData refuses to start a run whose alerts could not be sent; it reads the secret's metadata only.
            self.check_data.function.add_environment(env.SLACK_TOKEN_SECRET_NAME, config.slack.token_secret_name)
            iam.Grant.add_to_principal(
                grantee=self.check_data.role,
                actions=["secretsmanager:DescribeSecret"],
                resource_arns=[
                    Stack.of(self).format_arn(
                        service="secretsmanager",
                        resource="secret",
                        # Secrets Manager appends six random characters to a secret's name in its ARN.
                        resource_name=f"{config.slack.token_secret_name}-??????",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )

        # Always there, so the definition is the same for every pipeline; only a pipeline with preprocessing
        # routes runs to it (CheckData's `preprocess`), and only then may it start processing jobs.
        self.start_preprocessing = self._step(
            "StartPreprocessing",
            "start_preprocessing",
            {
                env.PIPELINE_NAME: config.name,
                env.DATA_BUCKET: data.bucket.bucket_name,
                env.SAGEMAKER_ROLE_ARN: sagemaker.role_arn,
                env.POLL_INTERVAL_SECONDS: str(polling.interval_seconds),
                **preprocessing_env,
            },
        )
        if preprocessing is not None:
            self._allow_run_resources(
                self.start_preprocessing,
                [
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                [processing_jobs],
            )
            sagemaker.grant_pass_role(self.start_preprocessing.role)

        self.start_training_job = self._step(
            "StartTrainingJob",
            "start_training_job",
            {
                env.PIPELINE_NAME: config.name,
                env.DATA_BUCKET: data.bucket.bucket_name,
                env.MODEL_PREFIX: config.model_prefix,
                env.TRAINING_IMAGE: images.training,
                env.SAGEMAKER_ROLE_ARN: sagemaker.role_arn,
                env.TRAINING_INSTANCE_TYPE: config.training.instance_type,
                env.TRAINING_INSTANCE_COUNT: str(config.training.instance_count),
                env.TRAINING_VOLUME_SIZE_GB: str(config.training.volume_size_gb),
                env.TRAINING_MAX_RUNTIME_SECONDS: str(config.training.max_runtime_seconds),
                env.HYPERPARAMETERS: json.dumps(dict(config.hyperparameters), sort_keys=True),
                env.POLL_INTERVAL_SECONDS: str(polling.interval_seconds),
                env.VALIDATE_DATA: "true" if config.training.validate_data else "false",
                **preprocessing_env,
            },
            # Checking the data streams every file of the window: Lambda's longest timeout, and the memory
            # that buys a full vCPU (the check is CPU-bound; its memory use does not grow with the files).
            timeout=Duration.minutes(15) if config.training.validate_data else None,
            memory_size=VALIDATING_MEMORY_MB if config.training.validate_data else 256,
        )
        if config.training.validate_data:
            data.grant_get(self.start_training_job.role, config.data_prefix)
            data.grant_get(self.start_training_job.role, config.manifest_prefix)
            if config.preprocessing is not None:
                # It checks the preprocessed data instead: every file the run's processing job wrote.
                data.grant_list(self.start_training_job.role, config.preprocessing.output_prefix)
                data.grant_get(self.start_training_job.role, config.preprocessing.output_prefix)
        self._allow_run_resources(
            self.start_training_job,
            # ListTags: a retried attempt checks that an existing job of this name is its own run's.
            [
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            [training_jobs],
        )
        sagemaker.grant_pass_role(self.start_training_job.role)

        self.get_status = self._step(
            "GetStatus",
            "get_status",
            {
                env.POLL_INTERVAL_SECONDS: str(polling.interval_seconds),
                env.MAX_TRAINING_WAIT_SECONDS: str(polling.max_training_wait_seconds),
                env.MAX_DEPLOYMENT_WAIT_SECONDS: str(polling.max_deployment_wait_seconds),
                **(
                    {env.MAX_PREPROCESSING_WAIT_SECONDS: str(config.preprocessing.max_wait_seconds)}
                    if config.preprocessing is not None
                    else {}
                ),
                **(
                    {env.MAX_BATCH_TRANSFORM_WAIT_SECONDS: str(config.batch_transform.max_wait_seconds)}
                    if config.batch_transform is not None
                    else {}
                ),
            },
        )
        self._allow_run_resources(self.get_status, ["sagemaker:DescribeTrainingJob"], [training_jobs])
        for resource, noun in optional_run_jobs(config):
            self._allow_run_resources(
                self.get_status, [f"sagemaker:Describe{noun}"], [run_resources_arn(self, resource, config.name)]
            )
        self._allow(self.get_status, ["sagemaker:DescribeEndpoint"], [endpoint])

        self.evaluate_model = self._step(
            "EvaluateModel",
            "evaluate_model",
            {
                env.PIPELINE_NAME: config.name,
                env.ENDPOINT_NAME: config.endpoint.name,
                env.MODEL_PACKAGE_GROUP: registry.group_name,
                env.INFERENCE_IMAGE: images.inference,
                env.APPROVAL_MODE: config.registry.approval,
                env.APPROVAL_TIMEOUT_SECONDS: str(config.registry.approval_timeout_hours * 3600),
                **({env.QUALITY_GATE: quality_gate_json(config)} if config.quality_gate else {}),
                **preprocessing_env,
            },
        )
        registry.grant_register(self.evaluate_model)
        # The production model's metric: the endpoint's config names the model, whose training job reported it.
        self._allow(self.evaluate_model, ["sagemaker:DescribeEndpoint"], [endpoint])
        self._allow_run_resources(self.evaluate_model, ["sagemaker:DescribeEndpointConfig"], [endpoint_configs])
        self._allow_run_resources(self.evaluate_model, ["sagemaker:DescribeTrainingJob"], [training_jobs])

        self.request_approval = self._step(
            "RequestApproval",
            "request_approval",
            {env.DATA_BUCKET: data.bucket.bucket_name, env.APPROVAL_PREFIX: config.approval_prefix},
        )
        data.grant_put(self.request_approval.role, config.approval_prefix)
        data.grant_delete(self.request_approval.role, config.approval_prefix)
        registry.grant_describe(self.request_approval)
        grant_task_response(self.request_approval, config)

        self.deploy_model = self._step(
            "DeployModel",
            "deploy_model",
            {
                env.PIPELINE_NAME: config.name,
                env.ENDPOINT_NAME: config.endpoint.name,
                env.ENDPOINT_INSTANCE_TYPE: config.endpoint.instance_type,
                env.ENDPOINT_INSTANCE_COUNT: str(config.endpoint.instance_count),
                env.INFERENCE_IMAGE: images.inference,
                env.SAGEMAKER_ROLE_ARN: sagemaker.role_arn,
                env.POLL_INTERVAL_SECONDS: str(polling.interval_seconds),
                **preprocessing_env,
            },
        )
        self._allow_run_resources(
            self.deploy_model,
            ["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:AddTags"],
            [models],
        )
        self._allow_run_resources(
            self.deploy_model,
            ["sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig", "sagemaker:AddTags"],
            [endpoint_configs],
        )
        self._allow(
            self.deploy_model,
            ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint", "sagemaker:AddTags"],
            [endpoint],
        )
        # IAM authorizes CreateEndpoint and UpdateEndpoint on the endpoint config they name as well.
        self._allow_run_resources(
            self.deploy_model, ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"], [endpoint_configs]
        )
        sagemaker.grant_pass_role(self.deploy_model.role)
        if rollout_alarms is not None:
            self._guard_rollout(rollout_alarms)

        self.update_parameters = self._step(
            "UpdateParameters",
            "update_parameters",
            {
                env.PIPELINE_NAME: config.name,  # the dimension of its metrics
                env.WATERMARK_PARAMETER: watermark.parameter_name,
                env.ENDPOINT_NAME: config.endpoint.name,
            },
        )
        watermark.grant_get(self.update_parameters.role)
        watermark.grant_put(self.update_parameters.role)
        self._allow(self.update_parameters, ["sagemaker:DescribeEndpoint"], [endpoint])

        # Like StartPreprocessing: always there, reached only when the pipeline configures a batch transform.
        self.start_batch_transform = self._step(
            "StartBatchTransform",
            "start_batch_transform",
            {
                env.PIPELINE_NAME: config.name,
                env.DATA_BUCKET: data.bucket.bucket_name,
                env.DATA_PREFIX: config.data_prefix,
                env.POLL_INTERVAL_SECONDS: str(polling.interval_seconds),
                **transform_env,
            },
        )
        if config.batch_transform is not None:
            # It finds the newest day's data (a file or a dt= folder) by listing.
            data.grant_list(self.start_batch_transform.role, config.data_prefix)
            self._allow_run_resources(
                self.start_batch_transform,
                [
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                [transform_jobs],
            )
            # The job runs the run's model, which the endpoint just deployed.
            self._allow_run_resources(self.start_batch_transform, ["sagemaker:CreateTransformJob"], [models])

        self.prune_models = self._prune_models(watermark, models, endpoint_configs, endpoint)
        self.record_lineage = self._step(
            "RecordLineage",
            "record_lineage",
            {
                env.PIPELINE_NAME: config.name,
                env.DATA_BUCKET: data.bucket.bucket_name,
                env.RUNS_PREFIX: config.runs_prefix,
                env.ENDPOINT_NAME: config.endpoint.name,
            },
        )
        data.grant_put(self.record_lineage.role, config.runs_prefix)
        self._allow_lineage(self.record_lineage, config)

        # CleanUp runs on the failure path only; it may stop, and delete, nothing but the failed run's resources
        # and an endpoint whose first creation failed (it never served).
        self.clean_up = self._step(
            "CleanUp",
            "clean_up",
            {env.PIPELINE_NAME: config.name, env.ENDPOINT_NAME: config.endpoint.name, **preprocessing_env},
        )
        self._allow_run_resources(
            self.clean_up,
            ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:ListTags"],
            [training_jobs],
        )
        if preprocessing is not None:
            self._allow_run_resources(
                self.clean_up,
                ["sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob", "sagemaker:ListTags"],
                [processing_jobs],
            )
        self._allow_run_resources(self.clean_up, ["sagemaker:DescribeModel", "sagemaker:DeleteModel"], [models])
        # The endpoint's current config may be any earlier run's: it is described to find the model it serves.
        self._allow_run_resources(
            self.clean_up,
            ["sagemaker:DescribeEndpointConfig", "sagemaker:DeleteEndpointConfig"],
            [endpoint_configs],
        )
        self._allow(self.clean_up, ["sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint"], [endpoint])

    def _guard_rollout(self, alarms: RolloutAlarms) -> None:
        """DeployModel asks UpdateEndpoint for the configured traffic shifting and rollback on these alarms."""
        rollout = self._config.rollout
        if rollout is None:
            raise ValueError(f"pipeline {self._config.name!r}: rollout alarms without a rollout config")
        variables = {
            env.ROLLOUT_STRATEGY: rollout.strategy,
            env.ROLLOUT_WAIT_SECONDS: str(rollout.wait_seconds),
            env.ROLLOUT_TERMINATION_WAIT_SECONDS: str(rollout.termination_wait_seconds),
            env.ROLLOUT_ALARM_NAMES: ",".join(alarms.alarm_names),
        }
        step = rollout.canary_percent or rollout.linear_step_percent
        if step is not None:
            variables[env.ROLLOUT_STEP_PERCENT] = str(step)
        if rollout.max_execution_seconds is not None:
            variables[env.ROLLOUT_MAX_EXECUTION_SECONDS] = str(rollout.max_execution_seconds)
        for name, value in variables.items():
            self.deploy_model.function.add_environment(name, value)
        alarms.grant_describe(self.deploy_model.role)

    def _prune_models(self, watermark: Watermark, models: str, endpoint_configs: str, endpoint: str) -> StepFunction:
        """Housekeeping after a deployment: deletes the pipeline's old models and endpoint configs, tagged as its."""
        config = self._config
        step = self._step(
            "PruneModels",
            "prune_models",
            {
                env.PIPELINE_NAME: config.name,
                env.ENDPOINT_NAME: config.endpoint.name,
                env.WATERMARK_PARAMETER: watermark.parameter_name,
                env.KEEP_LAST: str(config.housekeeping.keep_last),
            },
        )
        # The previous deployment, kept for a rollback, is read from the watermark's history.
        watermark.grant_get_history(step.role)
        self._allow(step, ["sagemaker:DescribeEndpoint"], [endpoint])
        # The List APIs have no resource types; each listed resource's tags are read on the pipeline's own ARNs.
        self._allow(step, ["sagemaker:ListModels", "sagemaker:ListEndpointConfigs"], ["*"])
        acknowledge(
            step.role,
            "AwsSolutions-IAM5",
            "sagemaker:ListModels and ListEndpointConfigs have no resource-level permissions; the function "
            "describes, reads the tags of and deletes only the pipeline's own run resources.",
            applies_to="Resource::*",
        )
        self._allow_run_resources(step, ["sagemaker:ListTags"], [models, endpoint_configs])
        self._allow_run_resources(step, ["sagemaker:DescribeEndpointConfig"], [endpoint_configs])
        # Deletion also requires the pipeline tag the runs put on what they create: a resource of another
        # pipeline whose name shares the prefix cannot be deleted even if the function's checks were wrong.
        step.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:DeleteEndpointConfig", "sagemaker:DeleteModel"],
                resources=[models, endpoint_configs],
                conditions={"StringEquals": {f"aws:ResourceTag/{PIPELINE_TAG}": config.name}},
            )
        )
        return step

    def _allow_lineage(self, step: StepFunction, config: PipelineConfig) -> None:
        """SageMaker Lineage: find or create the run's entities and associate them (lambdas/record_lineage)."""
        stack = Stack.of(self)
        # SageMaker gives artifacts ids of its own: their ARNs are unknown until created.
        artifacts = stack.format_arn(service="sagemaker", resource="artifact", resource_name="*")
        actions = sagemaker_arn(self, "action", RUN_RESOURCE_PATTERN.format(pipeline=config.name))
        endpoint_context = sagemaker_arn(self, "context", endpoint_context_name(config.endpoint.name))
        endpoint_contexts = sagemaker_arn(self, "context", f"{config.endpoint.name}-*")
        self._allow(step, ["sagemaker:ListArtifacts", "sagemaker:ListActions", "sagemaker:ListContexts"], ["*"])
        self._allow(step, ["sagemaker:CreateArtifact", "sagemaker:AddAssociation"], [artifacts])
        self._allow(step, ["sagemaker:CreateAction", "sagemaker:DescribeAction", "sagemaker:AddAssociation"], [actions])
        self._allow(step, ["sagemaker:CreateContext", "sagemaker:DescribeContext"], [endpoint_context])
        self._allow(step, ["sagemaker:AddAssociation"], [endpoint_contexts])
        acknowledge(step.role, "AwsSolutions-IAM5", LINEAGE_LIST_REASON, applies_to="Resource::*")
        acknowledge(
            step.role, "AwsSolutions-IAM5", LINEAGE_ARTIFACT_REASON, applies_to=resource_finding(self, artifacts)
        )
        acknowledge(step.role, "AwsSolutions-IAM5", RUN_RESOURCE_REASON, applies_to=resource_finding(self, actions))
        acknowledge(
            step.role, "AwsSolutions-IAM5", LINEAGE_CONTEXT_REASON, applies_to=resource_finding(self, endpoint_contexts)
        )

    def _step(
        self,
        construct_id: str,
        step: str,
        environment: dict[str, str],
        *,
        timeout: Duration | None = None,
        memory_size: int = 256,
    ) -> StepFunction:
        return StepFunction(
            self,
            construct_id,
            step=step,
            assets=self._assets,
            log_retention_days=self._config.log_retention_days,
            environment=environment,
            timeout=timeout,
            memory_size=memory_size,
        )

    @staticmethod
    def _allow(step: StepFunction, actions: Sequence[str], resources: Sequence[str]) -> None:
        step.role.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=list(resources)))

    def _allow_run_resources(self, step: StepFunction, actions: Sequence[str], resources: Sequence[str]) -> None:
        self._allow(step, actions, resources)
        for arn in resources:
            acknowledge(step.role, "AwsSolutions-IAM5", RUN_RESOURCE_REASON, applies_to=resource_finding(self, arn))


def batch_transform_json(config: PipelineConfig) -> str:
    """The BATCH_TRANSFORM variable: the transform job's settings."""
    transform = config.batch_transform
    if transform is None:
        raise ValueError(f"pipeline {config.name!r} runs no batch transform")
    return json.dumps(
        {
            "predictions_prefix": transform.predictions_prefix,
            "instance_type": transform.instance_type,
            "instance_count": transform.instance_count,
            "content_type": transform.content_type,
            "accept": transform.accept,
            "input_filter": transform.input_filter,
            "max_payload_mb": transform.max_payload_mb,
        },
        sort_keys=True,
    )


def quality_gate_json(config: PipelineConfig) -> str:
    """The gate as EvaluateModel reads it from its environment."""
    gate = config.quality_gate
    assert gate is not None
    return json.dumps(
        {
            "metric": gate.metric,
            "direction": gate.direction,
            "threshold": gate.threshold,
            "max_regression_percent": gate.max_regression_percent,
        },
        sort_keys=True,
    )
