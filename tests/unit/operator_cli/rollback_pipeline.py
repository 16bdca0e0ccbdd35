"""A deployed pipeline as its runs leave it, for the rollback's tests: registry versions, models, endpoint configs,
run records, and the rollout of its last deployment."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

from botocore.exceptions import ClientError

from contract.names import VARIANT_NAME
from lambdas.common.data_files import DataFile, write_manifest
from lambdas.common.events import Execution
from lambdas.record_lineage.core import LineageSettings, build_run_record, run_record_key, write_run_record
from operator_cli.rollback import RollbackPlan, RollbackResult, plan_rollback, roll_back
from operator_cli.rollback_endpoint import Caller, EndpointOutcome, PipelineResources, wait_for_endpoint
from tests.unit.lambdas.states import deployment_section, run_section, training_section

REGION, ACCOUNT = "us-east-1", "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
CALLER = Caller(arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/oncall/alice", account=ACCOUNT, user_id="AROA:alice")
NOW = datetime(2026, 12, 5, 10, 15, 0, tzinfo=UTC)
ROLLOUT = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "WaitIntervalInSeconds": 300,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50},
        },
        "TerminationWaitInSeconds": 0,
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "{pipeline}-rollout-5xx-errors"}]},
}
_pipelines = count(1)


class Deployed:
    """A deployed pipeline as its runs leave it: registry versions, models, endpoint configs, run records."""

    def __init__(self, client: Callable[[str], Any], *, serverless: dict[str, int] | None = None) -> None:
        """`serverless`: the runs deploy serverless variants with this ServerlessConfig instead of instances."""
        self.serverless = serverless
        self.name = f"churn{next(_pipelines)}"
        self.group, self.endpoint, self.bucket = f"{self.name}-models", self.name, f"{self.name}-data"
        self.sagemaker, self.s3, self.sfn = client("sagemaker"), client("s3"), client("stepfunctions")
        self.cloudwatch, self.sts = client("cloudwatch"), client("sts")
        self.s3.create_bucket(Bucket=self.bucket)
        self.machine = self.state_machine(f"sagemaker-retraining-{self.name}")
        self.resources = PipelineResources(
            pipeline=self.name,
            endpoint_name=self.endpoint,
            bucket=self.bucket,
            runs_prefix=f"runs/{self.name}",
            wake_prefix=f"waits/{self.name}",
            state_machine_arn=self.machine,
            watermark_parameter=f"/sagemaker-retraining/{self.name}/watermark",
        )
        self.sagemaker.create_model_package_group(ModelPackageGroupName=self.group)
        self.runs = 0

    def state_machine(self, name: str) -> str:
        definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}}}
        arn: str = self.sfn.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/states"
        )["stateMachineArn"]
        return arn

    def train(self, *, status: str = "Approved", deploy: bool = True) -> str:
        """A run: its model, its version registered as EvaluateModel registers it, and when deployed its config on
        the endpoint and its run record as RecordLineage writes it. Returns the run's name (its model's)."""
        self.runs += 1
        started = datetime(2026, 12, self.runs, 6, tzinfo=UTC)
        job = f"{self.name}-{started:%Y%m%d%H%M%S}-{self.runs:08x}"
        days = [(started.date() - timedelta(days=d)).isoformat() for d in (2, 1)]
        files = [DataFile(key=f"data/{self.name}/{d}.csv", day=date.fromisoformat(d), size=10) for d in days]
        manifest = write_manifest(self.s3, self.bucket, f"manifests/{job}.manifest", f"data/{self.name}", files)
        container = {"Image": IMAGE, "ModelDataUrl": f"s3://{self.bucket}/models/{job}/output/model.tar.gz"}
        self.sagemaker.create_model(ModelName=job, PrimaryContainer=container, ExecutionRoleArn=ROLE)
        self.sagemaker.create_model_package(
            ModelPackageGroupName=self.group,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [container],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            CustomerMetadataProperties={
                "pipeline": self.name,
                "execution": f"run-{self.runs}",
                "training_job": job,
                "manifest_uri": manifest,
                "window_start": days[0],
                "window_end": days[-1],
                "file_count": "2",
                "metric:train:mse": "0.25",
            },
        )
        if deploy:
            self.deploy(job, started, manifest, days)
        return job

    def deploy(self, job: str, started: datetime, manifest: str, days: list[str]) -> None:
        variant: dict[str, Any] = {"VariantName": VARIANT_NAME, "ModelName": job, "InitialVariantWeight": 1.0}
        if self.serverless is not None:
            variant["ServerlessConfig"] = self.serverless
        else:
            variant |= {"InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}
        self.sagemaker.create_endpoint_config(EndpointConfigName=job, ProductionVariants=[variant])
        if not self.endpoint_exists():
            self.sagemaker.create_endpoint(EndpointName=self.endpoint, EndpointConfigName=job)
        else:
            self.sagemaker.update_endpoint(EndpointName=self.endpoint, EndpointConfigName=job)
        execution = Execution(
            id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:m:run-{self.runs}", name=f"run-{self.runs}",
            start_time=started,
        )  # fmt: skip
        record = build_run_record(
            run_section(run_id=job, window_start=days[0], window_end=days[-1], manifest_uri=manifest),
            training_section(job_name=job, model_artifact=f"s3://{self.bucket}/models/{job}/output/model.tar.gz"),
            execution,
            deployment=deployment_section(endpoint_name=self.endpoint, endpoint_config_name=job, model_name=job),
            evaluation=None,
            watermark=None,
            settings=LineageSettings(self.name, self.bucket, self.resources.runs_prefix, self.endpoint),
            now=started + timedelta(hours=1),
        )
        write_run_record(self.s3, self.bucket, run_record_key(self.resources.runs_prefix, job), record)

    def endpoint_exists(self) -> bool:
        try:
            self.sagemaker.describe_endpoint(EndpointName=self.endpoint)
        except ClientError:
            return False
        return True

    def plan(self, selector: int | str | None = None, *, use_rollout: bool = True) -> RollbackPlan:
        return plan_rollback(
            sagemaker=self.sagemaker, s3=self.s3, sfn=self.sfn, cloudwatch=self.cloudwatch, resources=self.resources,
            selector=selector, use_rollout=use_rollout, now=NOW, where="moto",
        )  # fmt: skip

    def roll_back(self, plan: RollbackPlan, wait: Callable[[], EndpointOutcome] | None = None) -> RollbackResult:
        waited = wait or (lambda: wait_for_endpoint(self.sagemaker, self.endpoint, poll_seconds=0))
        return roll_back(
            self.sagemaker, self.s3, plan, caller=CALLER, reason="v3 answers 500", clock=lambda: NOW, wait=waited
        )

    def serving(self) -> tuple[str, str]:
        """The endpoint's config and the model it serves."""
        config = self.sagemaker.describe_endpoint(EndpointName=self.endpoint)["EndpointConfigName"]
        variants = self.sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
        return config, variants[0]["ModelName"]

    def record(self, run_id: str) -> dict[str, Any]:
        key = run_record_key(self.resources.runs_prefix, run_id)
        record: dict[str, Any] = json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        return record


def guarded_rollout(pipeline: Deployed, state: str) -> dict[str, Any]:
    """Two deployed versions, the second by a guarded update whose alarm is in `state`."""
    rollout = json.loads(json.dumps(ROLLOUT).replace("{pipeline}", pipeline.name))
    alarm = rollout["AutoRollbackConfiguration"]["Alarms"][0]["AlarmName"]
    pipeline.cloudwatch.put_metric_alarm(
        AlarmName=alarm, MetricName="Invocation5XXErrors", Namespace="AWS/SageMaker", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    pipeline.cloudwatch.set_alarm_state(AlarmName=alarm, StateValue=state, StateReason="test")
    pipeline.train()
    second = pipeline.train(deploy=False)
    pipeline.sagemaker.create_endpoint_config(
        EndpointConfigName=second,
        ProductionVariants=[{"VariantName": VARIANT_NAME, "ModelName": second, "InitialInstanceCount": 1,
                             "InstanceType": "ml.m5.large"}],
    )  # fmt: skip
    pipeline.sagemaker.update_endpoint(
        EndpointName=pipeline.endpoint, EndpointConfigName=second, DeploymentConfig=rollout
    )
    pipeline.s3.put_object(
        Bucket=pipeline.bucket,
        Key=run_record_key(pipeline.resources.runs_prefix, second),
        Body=json.dumps(
            {"outcome": "deployed", "deployment": {"endpoint_name": pipeline.endpoint, "model_name": second}}
        ),
    )
    return dict(rollout)
