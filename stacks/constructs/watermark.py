"""The SSM parameter that records the newest data a deployed model was trained on."""

from __future__ import annotations

import json

from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

WATERMARK_PARAMETER_NAME = "/sagemaker-retraining/{pipeline}/watermark"
INITIAL_WATERMARK = {"newest_data_date": None}
# CloudFormation writes the template's Value again whenever it updates the parameter, and a tag change is an
# update: tags on it would reset the watermark to "never trained" on the next deploy, so it gets none.
UNTAGGED_RESOURCE_TYPES = ["AWS::SSM::Parameter"]


class Watermark(Construct):
    """CheckData reads it to find new data; UpdateParameters moves it once a new model serves."""

    def __init__(self, scope: Construct, construct_id: str, *, pipeline: str) -> None:
        super().__init__(scope, construct_id)
        self.parameter = ssm.StringParameter(
            self,
            "Parameter",
            parameter_name=WATERMARK_PARAMETER_NAME.format(pipeline=pipeline),
            description=f"Newest data date the deployed model of pipeline {pipeline} was trained on",
            string_value=json.dumps(INITIAL_WATERMARK),
            tier=ssm.ParameterTier.STANDARD,
        )

    @property
    def parameter_name(self) -> str:
        return self.parameter.parameter_name

    def grant_get(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow reading the watermark (StringParameter.grant_read adds history and describe actions)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["ssm:GetParameter"], resource_arns=[self.parameter.parameter_arn]
        )

    def grant_get_history(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow reading the watermark's earlier versions (what was deployed before)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["ssm:GetParameterHistory"], resource_arns=[self.parameter.parameter_arn]
        )

    def grant_put(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow overwriting the watermark."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["ssm:PutParameter"], resource_arns=[self.parameter.parameter_arn]
        )
