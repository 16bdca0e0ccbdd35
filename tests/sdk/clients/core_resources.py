"""sagemaker-core (the v3 SDK's resource layer, `sagemaker.core.resources`): a flow of resources, no builder.

`TrainingJob.create` -> `wait` -> `Model.create` -> `EndpointConfig.create` -> `Endpoint.create` ->
`wait_for_status("InService")` -> `invoke` -> delete, with built-in XGBoost. Run by .venv-sdk3's interpreter.
"""

from __future__ import annotations

import json
import os
import time

import boto3
from sagemaker.core import image_uris
from sagemaker.core.resources import Endpoint, EndpointConfig, Model, TrainingJob
from sagemaker.core.shapes import (
    AlgorithmSpecification,
    Channel,
    ContainerDefinition,
    DataSource,
    OutputDataConfig,
    ProductionVariant,
    ResourceConfig,
    S3DataSource,
    StoppingCondition,
)

RESULT = "SDK-RESULT "
INSTANCE_TYPE = "ml.m5.large"


def main() -> None:
    session = boto3.Session(region_name=os.environ["AWS_DEFAULT_REGION"])
    bucket, role = os.environ["SDK_BUCKET"], os.environ["SDK_ROLE_ARN"]
    session.client("s3").create_bucket(Bucket=bucket)
    rows = "\n".join(f"{2 * x + 1},{x}" for x in range(100)) + "\n"
    session.client("s3").put_object(Bucket=bucket, Key="core/train/train.csv", Body=rows.encode())
    image = image_uris.retrieve("xgboost", session.region_name, version="1.7-1")
    name = f"core-xgboost-{int(time.time() * 1000)}"
    source = S3DataSource(
        s3_data_type="S3Prefix", s3_uri=f"s3://{bucket}/core/train/", s3_data_distribution_type="FullyReplicated"
    )
    job = TrainingJob.create(
        training_job_name=name,
        role_arn=role,
        algorithm_specification=AlgorithmSpecification(training_image=image, training_input_mode="File"),
        hyper_parameters={"objective": "reg:squarederror", "num_round": "20"},
        input_data_config=[
            Channel(channel_name="train", content_type="text/csv", data_source=DataSource(s3_data_source=source))
        ],
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/core/output"),
        resource_config=ResourceConfig(instance_type=INSTANCE_TYPE, instance_count=1, volume_size_in_gb=1),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=600),
        session=session,
    )
    job.wait(poll=1)
    model = Model.create(
        model_name=name,
        primary_container=ContainerDefinition(image=image, model_data_url=job.model_artifacts.s3_model_artifacts),
        execution_role_arn=role,
        session=session,
    )
    config = EndpointConfig.create(
        endpoint_config_name=name,
        production_variants=[
            ProductionVariant(
                variant_name="AllTraffic", model_name=name, instance_type=INSTANCE_TYPE, initial_instance_count=1
            )
        ],
        session=session,
    )
    endpoint = Endpoint.create(endpoint_name=name, endpoint_config_name=name, session=session)
    try:
        endpoint.wait_for_status("InService", poll=1, timeout=120)
        answer = endpoint.invoke(body="3.0", content_type="text/csv").body.read().decode()
    finally:
        endpoint.delete()
        config.delete()
        model.delete()
    result = {"job": name, "status": job.training_job_status, "endpoint": name, "answer": answer}
    print(RESULT + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
