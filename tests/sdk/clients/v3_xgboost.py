"""SDK v3: built-in XGBoost with `ModelTrainer.train` -> `ModelBuilder.build` -> `deploy` -> `invoke`.

Run by .venv-sdk3's interpreter. Without source code a ModelTrainer sends the image as is (algorithm mode): with
`source_code` it would set ContainerEntrypoint to its own shell driver (sm_train.sh) inside the framework image,
which needs that image. ModelBuilder with an image URI and a model artifact and no model object deploys it as is.
"""

from __future__ import annotations

import json
import os

import boto3
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.shapes import Channel, DataSource, S3DataSource
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute

RESULT = "SDK-RESULT "
INSTANCE_TYPE = "ml.m5.large"


def main() -> None:
    boto_session = boto3.Session(region_name=os.environ["AWS_DEFAULT_REGION"])
    session = Session(boto_session=boto_session, default_bucket=os.environ["SDK_BUCKET"])
    bucket = session.default_bucket()  # created here when missing, as on AWS
    rows = "\n".join(f"{2 * x + 1},{x}" for x in range(100)) + "\n"
    boto_session.client("s3").put_object(Bucket=bucket, Key="v3/train/train.csv", Body=rows.encode())
    image = image_uris.retrieve("xgboost", boto_session.region_name, version="1.7-1")
    trainer = ModelTrainer(
        training_image=image,
        role=os.environ["SDK_ROLE_ARN"],
        compute=Compute(instance_type=INSTANCE_TYPE, instance_count=1),
        hyperparameters={"objective": "reg:squarederror", "num_round": 20},
        base_job_name="v3-xgboost",
        sagemaker_session=session,
    )
    source = S3DataSource(
        s3_data_type="S3Prefix", s3_uri=f"s3://{bucket}/v3/train/", s3_data_distribution_type="FullyReplicated"
    )
    trainer.train(
        input_data_config=[
            Channel(channel_name="train", content_type="text/csv", data_source=DataSource(s3_data_source=source))
        ]
    )
    job = trainer._latest_training_job
    builder = ModelBuilder(
        image_uri=image,
        s3_model_data_url=job.model_artifacts.s3_model_artifacts,
        role_arn=os.environ["SDK_ROLE_ARN"],
        instance_type=INSTANCE_TYPE,
        sagemaker_session=session,
    )
    model = builder.build()
    endpoint = builder.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE)
    try:
        answer = endpoint.invoke(body="3.0", content_type="text/csv").body.read().decode()
    finally:
        endpoint.delete()
        model.delete()
    result = {"job": job.training_job_name, "endpoint": endpoint.endpoint_name, "answer": answer}
    print(RESULT + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
