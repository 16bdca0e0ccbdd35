"""The NotifySlack step: posts the workflow's events to a Slack channel when one is configured."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from contract import env
from stacks.config import PipelineConfig
from stacks.constructs.lambda_assets import LambdaAssets
from stacks.constructs.step_function import StepFunction


class SlackNotifications(Construct):
    """Without Slack configured the step still runs (the workflow always calls it) and only logs."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, assets: LambdaAssets) -> None:
        super().__init__(scope, construct_id)
        environment = {env.PIPELINE_NAME: config.name}
        if config.slack is not None:
            environment[env.SLACK_CHANNEL] = config.slack.channel
            # The secret's name, never its value: the function reads the token at run time.
            environment[env.SLACK_TOKEN_SECRET_NAME] = config.slack.token_secret_name
        self.notify_slack = StepFunction(
            self,
            "NotifySlack",
            step="notify_slack",
            assets=assets,
            log_retention_days=config.log_retention_days,
            environment=environment,
        )
        if config.slack is not None:
            token = secretsmanager.Secret.from_secret_name_v2(self, "SlackToken", config.slack.token_secret_name)
            token.grant_read(self.notify_slack.role)
            if config.slack.token_kms_key_arn is not None:
                # A secret under a customer managed key: Secrets Manager decrypts it with the caller's rights,
                # through itself only (kms:ViaService), so the role cannot use the key for anything else.
                stack = Stack.of(self)
                iam.Grant.add_to_principal(
                    grantee=self.notify_slack.role,
                    actions=["kms:Decrypt"],
                    resource_arns=[config.slack.token_kms_key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.{stack.url_suffix}"}
                    },
                )
