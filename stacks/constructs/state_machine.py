"""The retraining workflow: the ASL file in statemachine/, with the steps' ARNs substituted in."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from contract.steps import Step
from stacks.arns import RUN_RESOURCE_REASON, VERSIONS_REASON, optional_run_jobs, run_resources_arn, sagemaker_arn
from stacks.compliance import INLINE_POLICY_REASON, acknowledge, resource_finding
from stacks.config import PipelineConfig, run_timeout_seconds
from stacks.constructs.step_function import StepFunction, log_group
from stacks.paths import STATE_MACHINE_ASL

STATE_MACHINE_NAME = "sagemaker-retraining-{pipeline}"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


class PlaceholderMismatchError(ValueError):
    """The ASL's `${...}` placeholders and the substitutions the stack provides differ."""


def placeholders(definition: str) -> set[str]:
    """The names of the `${...}` placeholders in an ASL definition."""
    return set(PLACEHOLDER.findall(definition))


def check_substitutions(definition: str, substitutions: Mapping[str, str], *, source: Path) -> None:
    """Raise PlaceholderMismatchError unless every placeholder has a substitution and vice versa."""
    expected = placeholders(definition)
    given = set(substitutions)
    if expected != given:
        raise PlaceholderMismatchError(
            f"{source}: placeholders without a substitution: {sorted(expected - given) or 'none'}; "
            f"substitutions without a placeholder: {sorted(given - expected) or 'none'}"
        )


def with_run_timeout(definition: str, seconds: int) -> str:
    """The definition with a top-level TimeoutSeconds, added as the first field: the file's text stays as it is
    after it (CDK's timeout property does not reach a definition given as a string)."""
    parsed = json.loads(definition)
    if not isinstance(parsed, dict) or "StartAt" not in parsed:
        raise ValueError("the definition is not a state machine: a JSON object with StartAt and States")
    if "TimeoutSeconds" in parsed:
        raise ValueError("the definition sets its own TimeoutSeconds: the stack derives it from the pipeline's waits")
    opening = definition.index("{") + 1
    return f'{definition[:opening]}\n  "TimeoutSeconds": {seconds},{definition[opening:]}'


class RetrainingStateMachine(Construct):
    """A Standard state machine, fully logged and traced, allowed to invoke exactly the given steps."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        steps: Mapping[Step, StepFunction],
        definition_file: Path | None = None,
    ) -> None:
        """`steps` maps the registry's steps (contract/steps.py) to their functions; each fills its placeholder.

        Raises PlaceholderMismatchError when the definition's placeholders and the steps differ.
        """
        super().__init__(scope, construct_id)
        definition_file = definition_file or STATE_MACHINE_ASL
        definition = with_run_timeout(definition_file.read_text(), run_timeout_seconds(config))
        substitutions = {step.placeholder: function.function_arn for step, function in steps.items()}
        check_substitutions(definition, substitutions, source=definition_file)

        name = STATE_MACHINE_NAME.format(pipeline=config.name)
        self.log_group = log_group(
            self,
            "LogGroup",
            name=f"/aws/vendedlogs/states/{name}",
            retention_days=config.log_retention_days,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(definition),
            definition_substitutions=substitutions,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
        )
        role = self.state_machine.role
        acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY_REASON)
        for step, function in steps.items():
            function.function.grant_invoke(self.state_machine)
            acknowledge(
                role,
                "AwsSolutions-IAM5",
                f"lambda:InvokeFunction on '<{step.name} ARN>:*' covers the versions and aliases of this one "
                "function (grant_invoke's standard pair); no other function matches.",
                applies_to=resource_finding(self, f"{function.function_arn}:*"),
            )
        # The ASL stops a training job that ran past the pipeline's maximum wait (aws-sdk integration).
        training_jobs = run_resources_arn(self, "training-job", config.name)
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sagemaker:StopTrainingJob"], resources=[training_jobs])
        )
        acknowledge(role, "AwsSolutions-IAM5", RUN_RESOURCE_REASON, applies_to=resource_finding(self, training_jobs))
        for resource, noun in optional_run_jobs(config):  # and the processing and transform jobs, likewise
            jobs = run_resources_arn(self, resource, config.name)
            role.add_to_principal_policy(iam.PolicyStatement(actions=[f"sagemaker:Stop{noun}"], resources=[jobs]))
            acknowledge(role, "AwsSolutions-IAM5", RUN_RESOURCE_REASON, applies_to=resource_finding(self, jobs))
        # ... and rejects a model version nobody approved within the approval timeout.
        versions = sagemaker_arn(self, "model-package", f"{config.model_package_group}/*")
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sagemaker:UpdateModelPackage"], resources=[versions])
        )
        acknowledge(role, "AwsSolutions-IAM5", VERSIONS_REASON, applies_to=resource_finding(self, versions))
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and "
            "log delivery to CloudWatch Logs (logs:CreateLogDelivery and friends) have no resource-level "
            "permissions.",
            applies_to="Resource::*",
        )

    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.state_machine_arn
