"""Script Mode through the local server, driven with boto3 as the SageMaker Python SDK drives it: a scikit-learn
script trained from an S3 sourcedir.tar.gz and served from it, requirements.txt, failures and framework checks."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import tarfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import sklearn

from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.server import LocalAws

REGION, ACCOUNT = "us-east-1", "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
BUCKET = "script-mode"
SKLEARN_IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
PYTORCH_IMAGE = f"763104351884.dkr.ecr.{REGION}.amazonaws.com/pytorch-training:2.1-cpu-py310"

TRAIN = """
import argparse, json, os, pathlib
import joblib, numpy as np
from sklearn.linear_model import LogisticRegression

def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-C", type=float)  # the toolkit passes a one-letter name as -C
    parser.add_argument("--max_iter", type=int)
    parser.add_argument("--class_weight")
    parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
    args, _ = parser.parse_known_args()
    data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",")
    model = LogisticRegression(C=args.C, max_iter=args.max_iter).fit(data[:, 1:], data[:, 0])
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    pathlib.Path(os.environ["SM_OUTPUT_DATA_DIR"], "args.json").write_text(json.dumps({
        "C": args.C, "max_iter": args.max_iter, "class_weight": args.class_weight,
        "hps": json.loads(os.environ["SM_HPS"]), "module_dir": os.environ["SM_MODULE_DIR"],
    }))
"""
ROWS = "".join(f"{int(x > 0)},{x},{-x}\n" for x in (-3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("script-mode")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws(sagemaker=LocalSageMaker(workdir, health_check_timeout_seconds=60)) as aws:
        boto3.client(
            "s3", endpoint_url=aws.endpoint_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
        ).create_bucket(Bucket=BUCKET)
        yield aws


@pytest.fixture
def client(server: LocalAws, aws_env: None) -> Any:
    def make(service: str) -> Any:
        return boto3.client(service, endpoint_url=server.endpoint_url)  # type: ignore[call-overload]

    return make


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def upload_sourcedir(s3: Any, files: dict[str, str]) -> str:
    """The code as the SDK uploads it: <job>/source/sourcedir.tar.gz; its S3 URI."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    key = f"{unique('code')}/source/sourcedir.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue())
    return f"s3://{BUCKET}/{key}"


def train(client: Any, files: dict[str, str], *, image: str = SKLEARN_IMAGE, **hyperparameters: Any) -> str:
    """A script-mode job with the SDK's JSON-encoded hyperparameters; its name."""
    s3, sagemaker = client("s3"), client("sagemaker")
    code = upload_sourcedir(s3, files)
    data = unique("data")
    s3.put_object(Bucket=BUCKET, Key=f"{data}/train.csv", Body=ROWS.encode())
    name = unique("job")
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={
            "sagemaker_program": json.dumps("train.py"),
            "sagemaker_submit_directory": json.dumps(code),
            "sagemaker_container_log_level": "20",
            "sagemaker_region": json.dumps(REGION),
            "sagemaker_job_name": json.dumps(name),
            **{key: json.dumps(value) for key, value in hyperparameters.items()},
        },
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{data}/"}},
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/models/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    return name


def finished(sagemaker: Any, name: str, timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=name)
        if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
            return job
        assert time.monotonic() < deadline, f"{name} still {job['SecondaryStatus']}"
        time.sleep(0.1)


def deploy(client: Any, artifact: str, environment: dict[str, str], image: str = SKLEARN_IMAGE) -> dict[str, Any]:
    """CreateModel, CreateEndpointConfig, CreateEndpoint; DescribeEndpoint once it settled."""
    sagemaker, name = client("sagemaker"), unique("model")
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": image, "ModelDataUrl": artifact, "Environment": environment},
        ExecutionRoleArn=ROLE,
    )
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    deadline = time.monotonic() + 90
    while True:
        described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] != "Creating" or time.monotonic() > deadline:
            return described
        time.sleep(0.1)


def sdk_environment(code: str, program: str = "train.py") -> dict[str, str]:
    """The SDK's SKLearnModel environment: the code from S3, not from model.tar.gz."""
    return {
        "SAGEMAKER_PROGRAM": program,
        "SAGEMAKER_SUBMIT_DIRECTORY": code,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": REGION,
    }


def output_data(s3: Any, job: dict[str, Any]) -> dict[str, Any]:
    key = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix(f"s3://{BUCKET}/").replace("model.tar.gz", "")
    body = s3.get_object(Bucket=BUCKET, Key=f"{key}output.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        member = archive.extractfile("args.json")
        assert member is not None
        return dict(json.loads(member.read()))


def tiny_wheel(directory: Path, name: str) -> Path:
    """A pure-Python wheel built by hand: `import <name>` gives VALUE = 42."""
    path = directory / f"{name}-0.1-py3-none-any.whl"
    info = f"{name}-0.1.dist-info"
    files = {
        f"{name}.py": "VALUE = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{file},,\n" for file in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(path, "w") as wheel:
        for file, text in files.items():
            wheel.writestr(file, text)
    return path


def test_a_sklearn_script_trains_from_its_sourcedir_and_serves_with_its_model_fn(client: Any, workdir: Path) -> None:
    # GIVEN a scikit-learn script uploaded as the SDK does, with hyperparameters
    name = train(client, {"train.py": TRAIN}, C=10.0, max_iter=200, class_weight="balanced")

    # WHEN it trains
    job = finished(client("sagemaker"), name)

    # THEN it got them as arguments (decoded, without the sagemaker_* ones) and its model was packed
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    written = output_data(client("s3"), job)
    assert (written["C"], written["max_iter"], written["class_weight"]) == (10.0, 200, "balanced")
    assert written["hps"] == {"C": 10.0, "class_weight": "balanced", "max_iter": 200}
    code = json.loads(job["HyperParameters"]["sagemaker_submit_directory"])
    assert written["module_dir"] == code
    # AND the job's log says the local scikit-learn is not the image's 1.2, in one line
    log = (workdir / "training" / name / "output" / "training.log").read_text()
    mismatch = [line for line in log.splitlines() if "this machine runs scikit-learn" in line]
    assert mismatch == [
        f"[local-runtime] the image runs scikit-learn 1.2; this machine runs scikit-learn {sklearn.__version__}: "
        "results may differ from SageMaker's"
    ]

    # WHEN the model is deployed as the SDK's SKLearnModel deploys it (code from the S3 sourcedir)
    endpoint = deploy(client, job["ModelArtifacts"]["S3ModelArtifacts"], sdk_environment(code))

    # THEN it passes the health check and answers with the script's model_fn and the container's defaults
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    response = client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint["EndpointName"], Body=b"-2,2\n2,-2\n", ContentType="text/csv"
    )
    assert (response["ContentType"], json.loads(response["Body"].read())) == ("application/json", [0.0, 1.0])


def test_transform_fn_answers_alone_with_the_text_body(client: Any) -> None:
    # GIVEN an SDK-style model whose serving script defines transform_fn
    serve = (
        "def model_fn(model_dir):\n    return 'model'\n"
        "def transform_fn(model, body, content_type, accept):\n"
        "    return f'{model}:{type(body).__name__}:{body.strip()}', 'text/plain'\n"
    )
    code = upload_sourcedir(client("s3"), {"serve.py": serve})
    artifact = upload_sourcedir(client("s3"), {"weights.txt": "1"})

    # WHEN it is deployed and invoked with CSV
    endpoint = deploy(client, artifact, sdk_environment(code, "serve.py"))
    response = client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint["EndpointName"], Body=b"1,2", ContentType="text/csv", Accept="text/plain"
    )

    # THEN transform_fn got the body as text, as the inference toolkit passes a CSV or JSON body
    assert response["Body"].read() == b"model:str:1,2"


def test_requirements_txt_is_installed_for_the_script(client: Any, tmp_path: Path) -> None:
    # GIVEN a script importing a package its requirements.txt names, from a wheel directory
    wheel = tiny_wheel(tmp_path, "tinydep_ok")
    source = (
        "import os, pathlib, tinydep_ok\n"
        "pathlib.Path(os.environ['SM_MODEL_DIR'], 'value.txt').write_text(str(tinydep_ok.VALUE))\n"
    )
    requirements = f"--no-index\n--find-links {wheel.parent}\ntinydep_ok==0.1\n"

    # WHEN it trains
    job = finished(client("sagemaker"), train(client, {"train.py": source, "requirements.txt": requirements}))

    # THEN the package was installed and imported
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")


def test_a_requirement_that_cannot_be_installed_fails_the_job_naming_it(client: Any) -> None:
    # GIVEN a requirements.txt naming a package no index has
    files = {"train.py": "print('never runs')\n", "requirements.txt": "--no-index\nno-such-package-here==1.0\n"}

    # WHEN the job runs
    job = finished(client("sagemaker"), train(client, files))

    # THEN it fails as the toolkit's InstallRequirementsError, naming the package
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: InstallRequirementsError:\nExitCode 1\nErrorMessage")
    assert "No matching distribution found for no-such-package-here==1.0" in job["FailureReason"]


def test_a_long_traceback_is_cut_to_the_apis_limit(client: Any) -> None:
    # GIVEN a script that fails with a long message
    source = "raise RuntimeError('x' * 5000)\n"

    # WHEN it runs
    job = finished(client("sagemaker"), train(client, {"train.py": source}))

    # THEN the reason keeps the toolkit's start and fits DescribeTrainingJob's 1024 characters
    reason = job["FailureReason"]
    assert reason.startswith('AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage "raise RuntimeError')
    assert len(reason) == 1024


def test_a_pytorch_image_without_torch_installed_fails_naming_the_package(client: Any) -> None:
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here")

    # GIVEN a PyTorch script-mode job
    job = finished(client("sagemaker"), train(client, {"train.py": "import torch\n"}, image=PYTORCH_IMAGE))

    # THEN it fails before running, naming the package to install
    assert job["TrainingJobStatus"] == "Failed"
    assert "install the torch package (pip install torch)" in job["FailureReason"]
