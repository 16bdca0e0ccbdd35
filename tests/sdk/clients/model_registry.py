"""SDK v2: the model registry's flow, `estimator.register` into a model package group -> list and describe ->
`ModelPackage.update_approval_status("Approved")` -> deploy the approved `ModelPackage` -> predict.

A model created from a package names it (`Containers: [{ModelPackageName: arn}]`): SageMaker serves the image and
artifact of the package's InferenceSpecification.
"""

from __future__ import annotations

from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.model import ModelPackage
from sagemaker.predictor import Predictor
from sagemaker.serializers import CSVSerializer
from sdk_v2 import INSTANCE_TYPE, report, role, session, training_rows

GROUP = "sdk-registry"


def main() -> None:
    sm = session()
    bucket = sm.default_bucket()
    train = sm.upload_string_as_file_body(training_rows(), bucket, "registry/train/train.csv")
    estimator = Estimator(
        image_uri=image_uris.retrieve("xgboost", sm.boto_region_name, version="1.7-1"),
        role=role(),
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        output_path=f"s3://{bucket}/registry/output",
        sagemaker_session=sm,
    )
    estimator.set_hyperparameters(objective="reg:squarederror", num_round=20)
    estimator.fit({"train": TrainingInput(train.rsplit("/", 1)[0] + "/", content_type="text/csv")}, logs=False)
    registered = estimator.register(
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=[INSTANCE_TYPE],
        transform_instances=[INSTANCE_TYPE],
        model_package_group_name=GROUP,
        approval_status="PendingManualApproval",
        description="y = 2x + 1",
    )
    client = sm.sagemaker_client
    listed = client.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    pending = client.describe_model_package(ModelPackageName=registered.model_package_arn)["ModelApprovalStatus"]
    registered.update_approval_status("Approved", approval_description="checked by the SDK test")
    approved = client.list_model_packages(ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved")
    package = ModelPackage(
        role=role(),
        model_package_arn=approved["ModelPackageSummaryList"][0]["ModelPackageArn"],
        sagemaker_session=sm,
        predictor_cls=Predictor,
    )
    predictor = package.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE, serializer=CSVSerializer())
    try:
        answer = predictor.predict([[3.0]])
    finally:
        predictor.delete_model()
        predictor.delete_endpoint()
    report(
        package=registered.model_package_arn,
        versions=[summary["ModelPackageVersion"] for summary in listed],
        pending=pending,
        approved=client.describe_model_package(ModelPackageName=registered.model_package_arn)["ModelApprovalStatus"],
        endpoint=predictor.endpoint_name,
        answer=answer.decode(),
    )


if __name__ == "__main__":
    main()
