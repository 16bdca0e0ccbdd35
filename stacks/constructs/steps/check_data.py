"""CheckData: lists the window's data files, writes the run's manifest and refuses a run that could not finish."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract import env
from contract.names import lease_key
from contract.steps import CHECK_DATA
from stacks.compliance import acknowledge, resource_finding
from stacks.constructs.state_machine import STATE_MACHINE_NAME
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import StepResources, step_function


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config, data, watermark = resources.config, resources.data, resources.watermark
    step = step_function(
        scope,
        CHECK_DATA,
        resources,
        {
            env.PIPELINE_NAME: config.name,
            env.DATA_BUCKET: data.bucket.bucket_name,
            env.DATA_PREFIX: config.data_prefix,
            env.MANIFEST_PREFIX: config.manifest_prefix,
            env.WAKE_PREFIX: config.wake_prefix,
            env.WATERMARK_PARAMETER: watermark.parameter_name,
            env.WINDOW_DAYS: str(config.window_days),
            # The limits the run's manifest must fit, checked from the listing.
            env.TRAINING_VOLUME_SIZE_GB: str(config.training.volume_size_gb),
            env.MAX_FILES_PER_RUN: str(config.training.max_files_per_run),
            **resources.preprocessing_env(),
            **resources.transform_env(),
        },
        timeout=Duration.minutes(5),  # lists a window of data files and writes the run's manifest
        memory_size=1024,
    )
    data.grant_list(step.role, config.data_prefix)
    data.grant_put(step.role, config.manifest_prefix)
    # A retried attempt finds its manifest already written (PutObject with If-None-Match) and reads it back.
    data.grant_get(step.role, config.manifest_prefix)
    watermark.grant_get(step.role)
    stack = Stack.of(scope)
    # The run lease (lambdas/common/lease.py): taken and taken over with conditional writes of its one object; a
    # holder is asked whether it still runs. The ARN is built from the machine's fixed name: a reference to the
    # state machine would be circular, it references the steps.
    data.grant_object(step.role, lease_key(config.wake_prefix), "s3:GetObject", "s3:PutObject")
    executions = executions_arn(stack, config.name)
    iam.Grant.add_to_principal(grantee=step.role, actions=["states:DescribeExecution"], resource_arns=[executions])
    acknowledge(
        step.role,
        "AwsSolutions-IAM5",
        "The lease names the execution that holds it, any of the pipeline's own state machine's executions: their "
        "names are only known at run time, and the machine's executions are the narrowest scope that holds them.",
        applies_to=resource_finding(step, executions),
    )
    holdout = config.evaluation.split
    if holdout is not None:
        step.add_environment(env.HOLDOUT, holdout.to_env())
    for name, value in resources.evaluation_env().items():
        step.add_environment(name, value)
    if config.slack is not None:
        # CheckData refuses to start a run whose alerts could not be sent; it reads the secret's metadata only.
        step.add_environment(env.SLACK_TOKEN_SECRET_NAME, config.slack.token_secret_name)
        iam.Grant.add_to_principal(
            grantee=step.role,
            actions=["secretsmanager:DescribeSecret"],
            # Secrets Manager appends six random characters to a secret's name in its ARN.
            resource_arns=[colon_arn(stack, "secretsmanager", "secret", f"{config.slack.token_secret_name}-??????")],
        )
    return step


def executions_arn(stack: Stack, pipeline: str) -> str:
    """Every execution of the pipeline's state machine: `arn:...:execution:<machine>:*`."""
    return colon_arn(stack, "states", "execution", f"{STATE_MACHINE_NAME.format(pipeline=pipeline)}:*")


def colon_arn(stack: Stack, service: str, resource: str, name: str) -> str:
    """`arn:...:<resource>:<name>`, the form Step Functions and Secrets Manager ARNs take."""
    return stack.format_arn(
        service=service, resource=resource, resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
    )
