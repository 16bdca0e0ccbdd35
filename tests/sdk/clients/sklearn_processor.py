"""SDK v2: `SKLearnProcessor.run(code, inputs, outputs, arguments)` -> wait -> read the outputs from S3.

The SDK uploads the script and runs it as `python3 /opt/ml/processing/input/code/preprocess.py <arguments>` in the
scikit-learn image.
"""

from __future__ import annotations

from pathlib import Path

from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.s3 import S3Downloader
from sagemaker.sklearn.processing import SKLearnProcessor
from sdk_v2 import INSTANCE_TYPE, report, role, session, training_rows

# The script's directories as arguments: the local runtime maps container paths in the command, not in files.
ARGUMENTS = [
    "--input-dir",
    "/opt/ml/processing/input",
    "--output-dir",
    "/opt/ml/processing/output",
    "--test-rows",
    "20",
]


def main() -> None:
    sm = session()
    bucket = sm.default_bucket()
    raw = sm.upload_string_as_file_body(training_rows(), bucket, "processing/raw/raw.csv")
    processor = SKLearnProcessor(
        framework_version="1.2-1",
        role=role(),
        instance_type=INSTANCE_TYPE,
        instance_count=1,
        base_job_name="sdk-sklearn-processing",
        sagemaker_session=sm,
    )
    processor.run(
        code=str(Path(__file__).parent / "processing" / "preprocess.py"),
        inputs=[ProcessingInput(source=raw.rsplit("/", 1)[0] + "/", destination="/opt/ml/processing/input")],
        outputs=[
            ProcessingOutput(output_name="train", source="/opt/ml/processing/output/train"),
            ProcessingOutput(
                output_name="test",
                source="/opt/ml/processing/output/test",
                destination=f"s3://{bucket}/processing/test",
            ),
        ],
        arguments=ARGUMENTS,
        logs=False,
    )
    job = processor.latest_job.describe()
    outputs = {output["OutputName"]: output["S3Output"]["S3Uri"] for output in job["ProcessingOutputConfig"]["Outputs"]}
    report(
        job=job["ProcessingJobName"],
        status=job["ProcessingJobStatus"],
        train_uri=outputs["train"],
        train=S3Downloader.read_file(f"{outputs['train']}/train.csv", sagemaker_session=sm),
        test=S3Downloader.read_file(f"{outputs['test']}/test.csv", sagemaker_session=sm),
    )


if __name__ == "__main__":
    main()
