"""SDK v2: a scikit-learn Script Mode estimator, `SKLearn(entry_point, source_dir).fit` -> `deploy` -> `predict`.

The SDK uploads source_dir as sourcedir.tar.gz and names it in the model's SAGEMAKER_SUBMIT_DIRECTORY.
"""

from __future__ import annotations

from pathlib import Path

from sagemaker.sklearn import SKLearn
from sdk_v2 import INSTANCE_TYPE, report, role, session, training_rows


def main() -> None:
    sm = session()
    bucket = sm.default_bucket()
    train = sm.upload_string_as_file_body(training_rows(), bucket, "sklearn/train/train.csv")
    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(Path(__file__).parent / "sklearn_model"),
        framework_version="1.2-1",
        py_version="py3",
        role=role(),
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        output_path=f"s3://{bucket}/sklearn/output",
        hyperparameters={"fit-intercept": 1},
        sagemaker_session=sm,
    )
    estimator.fit({"train": train.rsplit("/", 1)[0] + "/"})
    predictor = estimator.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE)
    try:
        answer = predictor.predict([[3.0]])
    finally:
        predictor.delete_model()
        predictor.delete_endpoint()
    report(job=estimator.latest_training_job.name, endpoint=predictor.endpoint_name, answer=answer.tolist())


if __name__ == "__main__":
    main()
