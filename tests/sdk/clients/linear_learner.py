"""SDK v2: built-in Linear Learner, `Estimator.fit` -> `deploy` -> `predictor.predict`, as its examples do it."""

from __future__ import annotations

from sagemaker import image_uris
from sagemaker.deserializers import JSONDeserializer
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.serializers import CSVSerializer
from sdk_v2 import INSTANCE_TYPE, report, role, session, training_rows


def main() -> None:
    sm = session()
    bucket = sm.default_bucket()
    train = sm.upload_string_as_file_body(training_rows(), bucket, "linear-learner/train/train.csv")
    estimator = Estimator(
        image_uri=image_uris.retrieve("linear-learner", sm.boto_region_name),
        role=role(),
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        output_path=f"s3://{bucket}/linear-learner/output",
        sagemaker_session=sm,
    )
    estimator.set_hyperparameters(predictor_type="regressor", feature_dim=1)
    estimator.fit({"train": TrainingInput(train.rsplit("/", 1)[0] + "/", content_type="text/csv")})
    predictor = estimator.deploy(
        initial_instance_count=1,
        instance_type=INSTANCE_TYPE,
        serializer=CSVSerializer(),
        deserializer=JSONDeserializer(),
    )
    try:
        answer = predictor.predict([[3.0]])
    finally:
        predictor.delete_model()
        predictor.delete_endpoint()
    report(job=estimator.latest_training_job.name, endpoint=predictor.endpoint_name, answer=answer)


if __name__ == "__main__":
    main()
