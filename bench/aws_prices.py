"""us-east-1 list prices the monthly cost benchmark multiplies usage by (USD, on-demand, no free tier).

Free tiers are per account, not per pipeline, so none is subtracted: the figures are what one more pipeline adds to a
bill. The SageMaker instance prices are the shipped price table's (contract/prices, traceable to the AWS Price List
API); the others were read from the services' public pricing pages and are written down here with what they price.
This machine has no access to the Price List API: a figure below that a pricing page changes since is a figure to
update, and the benchmark prints the table it used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

PRICE_TABLE = Path(__file__).resolve().parents[1] / "contract" / "prices" / "sagemaker-us-east-1.json"


@dataclass(frozen=True)
class Price:
    usd: float
    per: str
    source: str


# Step Functions Standard workflows bill per state transition.
STATE_TRANSITION = Price(0.025 / 1000, "state transition", "aws.amazon.com/step-functions/pricing (Standard)")
# Lambda, x86_64 (the stack's functions' architecture): requests and duration times memory.
LAMBDA_REQUEST = Price(0.20 / 1_000_000, "request", "aws.amazon.com/lambda/pricing")
LAMBDA_GB_SECOND = Price(0.0000166667, "GB-second (x86_64)", "aws.amazon.com/lambda/pricing")
# S3 Standard requests: PUT, COPY, POST and LIST in one class; GET, HEAD and the others in the other; DELETE is free.
S3_WRITE_OR_LIST = Price(0.005 / 1000, "PUT, COPY, POST or LIST request", "aws.amazon.com/s3/pricing")
S3_READ = Price(0.0004 / 1000, "GET, HEAD or other request", "aws.amazon.com/s3/pricing")
SECRET_MONTH = Price(0.40, "secret-month", "aws.amazon.com/secrets-manager/pricing")
SECRETS_API_CALL = Price(0.05 / 10_000, "API call", "aws.amazon.com/secrets-manager/pricing")
KMS_KEY_MONTH = Price(1.00, "customer managed key-month", "aws.amazon.com/kms/pricing")
KMS_REQUEST = Price(0.03 / 10_000, "request", "aws.amazon.com/kms/pricing")
# CloudWatch: every metric name and dimension set published (EMF included) is a custom metric, billed per month.
CUSTOM_METRIC_MONTH = Price(0.30, "custom metric-month (first 10,000)", "aws.amazon.com/cloudwatch/pricing")
ALARM_MONTH = Price(0.10, "standard-resolution alarm metric-month", "aws.amazon.com/cloudwatch/pricing")
DASHBOARD_MONTH = Price(3.00, "dashboard-month", "aws.amazon.com/cloudwatch/pricing")
CLOUDWATCH_API_REQUEST = Price(0.01 / 1000, "API request (PutMetricData, ...)", "aws.amazon.com/cloudwatch/pricing")
LOG_INGESTION_GB = Price(0.50, "GB of logs ingested (Standard)", "aws.amazon.com/cloudwatch/pricing")
PUT_EVENTS = Price(1.00 / 1_000_000, "custom event (PutEvents)", "aws.amazon.com/eventbridge/pricing")
SCHEDULER_INVOCATION = Price(1.00 / 1_000_000, "EventBridge Scheduler invocation", "aws.amazon.com/eventbridge/pricing")
SQS_REQUEST = Price(0.40 / 1_000_000, "request (Standard)", "aws.amazon.com/sqs/pricing")
XRAY_TRACE = Price(5.00 / 1_000_000, "trace recorded", "aws.amazon.com/xray/pricing")
# SageMaker Serverless Inference: compute per second of inference at the endpoint's memory size (1 GB steps, the price
# proportional to the memory: 0.00002 USD per second per GB), and data processed in and out.
SERVERLESS_SECOND_PER_GB = Price(0.00002, "second of inference per GB of memory", "aws.amazon.com/sagemaker/pricing")
SERVERLESS_DATA_GB = Price(0.016, "GB processed, in or out", "aws.amazon.com/sagemaker/pricing")


def instance_hour(kind: str, instance_type: str, *, fallback_kind: str | None = None) -> Price:
    """An instance-hour from the shipped price table (kind: training, processing, transform, hosting); with
    `fallback_kind`, that kind's price when the table has none for `kind` (said in the source)."""
    prices = json.loads(PRICE_TABLE.read_text())["prices"]
    entry = prices.get(kind, {}).get(instance_type)
    if entry is not None:
        return Price(float(entry["usd_per_hour"]), f"{kind} instance-hour", str(entry["source"]))
    if fallback_kind is not None and instance_type in prices.get(fallback_kind, {}):
        fallback = prices[fallback_kind][instance_type]
        return Price(
            float(fallback["usd_per_hour"]),
            f"{kind} instance-hour",
            f"no {kind} price in the table: the {fallback_kind} price of the same instance type is assumed",
        )
    raise KeyError(f"the price table {PRICE_TABLE.name} has no {kind} price for {instance_type}")
