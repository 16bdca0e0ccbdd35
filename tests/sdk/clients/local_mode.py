"""SDK v2's local mode (`instance_type="local"`), which runs the image with Docker Compose instead of SageMaker.

The local runtime runs no containers: the SDK itself refuses, and the client reports what it said.
"""

from __future__ import annotations

from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.local import LocalSession
from sdk_v2 import report, role


def main() -> None:
    local = LocalSession()
    local.config = {"local": {"local_code": True}}
    estimator = Estimator(
        image_uri=image_uris.retrieve("xgboost", "us-east-1", version="1.7-1"),
        role=role(),
        instance_count=1,
        instance_type="local",
        output_path="file:///tmp/sdk-local-mode",
        sagemaker_session=local,
    )
    try:
        estimator.fit({"train": "file:///tmp"})
    except Exception as error:  # the test reads what the SDK says
        report(error=f"{type(error).__name__}: {error}")
        return
    report(error=None)


if __name__ == "__main__":
    main()
