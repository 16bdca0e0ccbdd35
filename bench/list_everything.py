"""The baseline CheckData is measured against: list every key under the data prefix, then keep the window's.

It has the same signature and result as `lambdas.check_data.core.list_window_files`, so the benchmark swaps it
in and runs the very same handler; only the listing strategy differs.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from lambdas.common.data_files import Listing, classify

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


def list_everything(s3: S3Client, bucket: str, prefix: str, start: date, end: date) -> Listing:
    """Page through every key under `prefix` and classify each as list_window_files would."""
    listing = Listing()
    base = f"{prefix}/"
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": base}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        listing.requests += 1
        for obj in page.get("Contents", []):
            key, size = obj["Key"], int(obj.get("Size", 0))
            classify(listing, key, size, key[len(base) :], start, end)
        if not page.get("IsTruncated"):
            return listing
        token = page["NextContinuationToken"]
