"""NotifySlack: every Notify* state; posts the workflow's events to a Slack channel when one is configured.

Without Slack configured the step still runs (the workflow always calls it) and only logs.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from contract import env
from contract.steps import NOTIFY_SLACK
from stacks.constructs.step_function import StepFunction
from stacks.constructs.steps.shared import StepResources, kept_parent, step_function

# Built under its own construct before the registry existed; kept there, see kept_parent.
PARENT = "Notifications"


def build(scope: Construct, resources: StepResources) -> StepFunction:
    config = resources.config
    parent = kept_parent(scope, PARENT)
    environment = {env.PIPELINE_NAME: config.name}
    if config.slack is not None:
        environment[env.SLACK_CHANNEL] = config.slack.channel
        # The secret's name, never its value: the function reads the token at run time.
        environment[env.SLACK_TOKEN_SECRET_NAME] = config.slack.token_secret_name
    step = step_function(parent, NOTIFY_SLACK, resources, environment)
    if config.slack is not None:
        token = secretsmanager.Secret.from_secret_name_v2(parent, "SlackToken", config.slack.token_secret_name)
        token.grant_read(step.role)
        if config.slack.token_kms_key_arn is not None:
            # A secret under a customer managed key: Secrets Manager decrypts it with the caller's rights,
            # through itself only (kms:ViaService), so the role cannot use the key for anything else.
            stack = Stack.of(parent)
            iam.Grant.add_to_principal(
                grantee=step.role,
                actions=["kms:Decrypt"],
                resource_arns=[config.slack.token_kms_key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.{stack.url_suffix}"}},
            )
    return step
