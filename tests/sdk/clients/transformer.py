"""SDK v2: batch transform from a fitted estimator, `estimator.transformer(...).transform(...)` -> `wait` -> S3.

Built-in XGBoost is fitted on y = 2x + 1; the transform job reads a CSV of x values a line each (SplitType Line) and
writes `<input file>.out` under the transformer's output path, one prediction a line.
"""

from __future__ import annotations

from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.s3 import S3Downloader
from sdk_v2 import INSTANCE_TYPE, report, role, session, training_rows


def main() -> None:
    sm = session()
    bucket = sm.default_bucket()
    train = sm.upload_string_as_file_body(training_rows(), bucket, "transform/train/train.csv")
    batch = sm.upload_string_as_file_body("1\n3\n5\n", bucket, "transform/batch/features.csv")
    estimator = Estimator(
        image_uri=image_uris.retrieve("xgboost", sm.boto_region_name, version="1.7-1"),
        role=role(),
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        output_path=f"s3://{bucket}/transform/output",
        sagemaker_session=sm,
    )
    estimator.set_hyperparameters(objective="reg:squarederror", num_round=20)
    estimator.fit({"train": TrainingInput(train.rsplit("/", 1)[0] + "/", content_type="text/csv")}, logs=False)
    transformer = estimator.transformer(
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        output_path=f"s3://{bucket}/transform/predictions",
        assemble_with="Line",
    )
    transformer.transform(batch.rsplit("/", 1)[0] + "/", content_type="text/csv", split_type="Line", logs=False)
    transformer.wait(logs=False)
    try:
        output = S3Downloader.read_file(f"{transformer.output_path}/features.csv.out", sagemaker_session=sm)
    finally:
        sm.delete_model(transformer.model_name)
    report(job=transformer.latest_transform_job.name, model=transformer.model_name, output=output)


if __name__ == "__main__":
    main()
