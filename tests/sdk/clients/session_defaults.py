"""SDK v2 as most examples start: `sagemaker.Session()` and an estimator without a role, from the SDK's defaults file.

`Session.default_bucket()` with no name would ask STS for the account at sts.<region>.amazonaws.com; with
`DefaultS3Bucket` configured it creates that bucket through S3 (AWS_ENDPOINT_URL) and asks nothing else.
"""

from __future__ import annotations

import sagemaker
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sdk_v2 import INSTANCE_TYPE, report


def main() -> None:
    sm = sagemaker.Session()
    bucket = sm.default_bucket()
    sm.boto_session.client("s3").head_bucket(Bucket=bucket)
    estimator = Estimator(
        image_uri=image_uris.retrieve("xgboost", sm.boto_region_name, version="1.7-1"),
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        sagemaker_session=sm,
    )
    report(bucket=bucket, role=estimator.role)


if __name__ == "__main__":
    main()
