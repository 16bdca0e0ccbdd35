"""A workflow as people write it with CDK's `aws_stepfunctions_tasks` SageMaker tasks, for the local runtime to run
unchanged: train (RUN_JOB) → model → endpoint config → endpoint → wait until InService → batch transform (RUN_JOB).

The job, model, config and endpoint are all named after the execution input's `Name`; the data sits in the stack's
bucket under `train/` and `transform/`.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

STACK = "SageMakerTasksWorkflow"
LINEAR_LEARNER = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
INSTANCE = ec2.InstanceType("m5.large")  # CDK writes ml.m5.large
NAME = sfn.JsonPath.string_at("$.Name")


class SageMakerTasksWorkflow(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, poll_seconds: int = 1) -> None:
        super().__init__(scope, construct_id)
        bucket = s3.Bucket(self, "Data")
        image = tasks.DockerImage.from_registry(LINEAR_LEARNER)
        train = tasks.SageMakerCreateTrainingJob(
            self,
            "Train",
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            training_job_name=NAME,
            algorithm_specification=tasks.AlgorithmSpecification(
                training_image=image, training_input_mode=tasks.InputMode.FILE
            ),
            hyperparameters={"predictor_type": "regressor"},
            input_data_config=[
                tasks.Channel(
                    channel_name="train",
                    content_type="text/csv",
                    data_source=tasks.DataSource(
                        s3_data_source=tasks.S3DataSource(
                            s3_location=tasks.S3Location.from_bucket(bucket, "train/"),
                            s3_data_type=tasks.S3DataType.S3_PREFIX,
                        )
                    ),
                )
            ],
            output_data_config=tasks.OutputDataConfig(
                s3_output_location=tasks.S3Location.from_bucket(bucket, "models")
            ),
            resource_config=tasks.ResourceConfig(
                instance_count=1, instance_type=INSTANCE, volume_size=cdk.Size.gibibytes(10)
            ),
            stopping_condition=tasks.StoppingCondition(max_runtime=cdk.Duration.minutes(10)),
            result_path="$.Training",
        )
        model = tasks.SageMakerCreateModel(
            self,
            "Model",
            model_name=NAME,
            primary_container=tasks.ContainerDefinition(
                image=image,
                model_s3_location=tasks.S3Location.from_json_expression("$.Training.ModelArtifacts.S3ModelArtifacts"),
            ),
            result_path="$.Model",
        )
        bucket.grant_read_write(model.role)  # the batch transform reads and writes as the model's role
        config = tasks.SageMakerCreateEndpointConfig(
            self,
            "EndpointConfig",
            endpoint_config_name=NAME,
            production_variants=[
                tasks.ProductionVariant(
                    model_name=NAME, variant_name="AllTraffic", instance_type=INSTANCE, initial_instance_count=1
                )
            ],
            result_path="$.EndpointConfig",
        )
        endpoint = tasks.SageMakerCreateEndpoint(
            self, "Endpoint", endpoint_name=NAME, endpoint_config_name=NAME, result_path="$.Endpoint"
        )
        wait = sfn.Wait(self, "WaitForEndpoint", time=sfn.WaitTime.duration(cdk.Duration.seconds(poll_seconds)))
        describe = tasks.CallAwsService(
            self,
            "DescribeEndpoint",
            service="sagemaker",
            action="describeEndpoint",
            parameters={"EndpointName": NAME},
            iam_resources=["*"],
            result_selector={"Status.$": "$.EndpointStatus"},
            result_path="$.EndpointStatus",
        )
        transform = tasks.SageMakerCreateTransformJob(
            self,
            "Transform",
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            transform_job_name=NAME,
            model_name=NAME,
            transform_input=tasks.TransformInput(
                transform_data_source=tasks.TransformDataSource(
                    s3_data_source=tasks.TransformS3DataSource(
                        s3_uri=bucket.s3_url_for_object("transform/"), s3_data_type=tasks.S3DataType.S3_PREFIX
                    )
                ),
                content_type="text/csv",
                split_type=tasks.SplitType.LINE,
            ),
            transform_output=tasks.TransformOutput(s3_output_path=bucket.s3_url_for_object("scores")),
            transform_resources=tasks.TransformResources(instance_count=1, instance_type=INSTANCE),
            result_path="$.Transform",
        )
        in_service = (
            sfn.Choice(self, "InService?")
            .when(sfn.Condition.string_equals("$.EndpointStatus.Status", "InService"), transform)
            .when(
                sfn.Condition.string_equals("$.EndpointStatus.Status", "Failed"),
                sfn.Fail(self, "EndpointFailed", error="EndpointFailed"),
            )
            .otherwise(wait)
        )
        definition = train.next(model).next(config).next(endpoint).next(wait).next(describe).next(in_service)
        sfn.StateMachine(self, "Workflow", definition_body=sfn.DefinitionBody.from_chainable(definition))
        cdk.CfnOutput(self, "BucketName", value=bucket.bucket_name)


def synthesize(outdir: str) -> dict[str, Any]:
    """The stack's template, as `cdk synth` writes it."""
    app = cdk.App(outdir=outdir)
    SageMakerTasksWorkflow(app, STACK)
    template: dict[str, Any] = app.synth().get_stack_by_name(STACK).template
    return template
