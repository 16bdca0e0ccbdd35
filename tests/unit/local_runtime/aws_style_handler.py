"""A Lambda handler written for AWS with no knowledge of this project: a client made at import time."""

import os

import boto3

s3 = boto3.client("s3")
TABLE = os.environ.get("OUTPUT_BUCKET", "")


class BucketMissingError(Exception):
    pass


def handler(event, context):  # type: ignore[no-untyped-def]
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    if TABLE not in names:
        raise BucketMissingError(f"bucket {TABLE} does not exist")
    s3.put_object(Bucket=TABLE, Key=f"{context.aws_request_id}.txt", Body=str(event["value"]).encode())
    return {"stored": event["value"] * 2, "function": context.function_name, "region": os.environ["AWS_REGION"]}
