"""The pipeline stack's template: storage, functions, least-privilege roles, schedule and outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from lambdas.common import env
from tests.unit.stacks.synth import (
    FUNCTION_HANDLERS,
    STEP_HANDLERS,
    environment,
    flatten,
    function_id,
    function_properties,
    function_statements,
    pipeline,
    pipeline_template,
    resources_for,
    role_statements,
)

TRAINING_IMAGE = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:2.1"
INFERENCE_IMAGE = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/server@sha256:" + "b" * 64

# Actions that have no resource-level permissions, the only ones allowed on Resource "*".
RESOURCE_STAR_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "sagemaker:ListModelPackages",
    "cloudwatch:PutMetricData",
    "ecr:GetAuthorizationToken",
    "sagemaker:ListModels",
    "sagemaker:ListEndpointConfigs",
    # RecordLineage finds existing lineage entities by source URI; the List APIs have no resource types.
    "sagemaker:ListArtifacts",
    "sagemaker:ListActions",
    "sagemaker:ListContexts",
}


@pytest.fixture(scope="module")
def template(demo_template: Template) -> Template:
    """The demo pipeline of cdk.json: created bucket, Linear Learner, no Slack."""
    return demo_template


@pytest.fixture(scope="module")
def custom() -> Template:
    """An existing bucket, the caller's images, Slack, a named endpoint and a longer log retention."""
    return pipeline_template(
        pipeline(
            name="churn",
            data_bucket={"name": "existing-data-bucket"},
            data_prefix="raw/churn",
            algorithm={"image_uri": TRAINING_IMAGE, "inference_image_uri": INFERENCE_IMAGE},
            endpoint={"name": "Churn-Endpoint"},
            slack={"channel": "#ml-alerts", "token_secret_name": "slack/ml-bot"},
            log_retention_days=90,
            schedule="cron(0 6 ? * MON-FRI *)",
        )
    )


def all_statements(template: Template) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def sagemaker_role_id(template: Template) -> str:
    roles = template.find_resources(
        "AWS::IAM::Role",
        {
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [Match.object_like({"Principal": {"Service": "sagemaker.amazonaws.com"}})]
                }
            }
        },
    )
    assert len(roles) == 1
    return next(iter(roles))


def watermark_arn(template: Template) -> str:
    (parameter,) = template.find_resources("AWS::SSM::Parameter")
    return f"arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter<{parameter}>"


def bucket_arn_ids(template: Template) -> dict[str, str]:
    """The logical ids of the created buckets: data and access logs."""
    buckets = template.find_resources("AWS::S3::Bucket")
    data = [bucket_id for bucket_id, bucket in buckets.items() if "LoggingConfiguration" in bucket["Properties"]]
    logs = [bucket_id for bucket_id in buckets if bucket_id not in data]
    assert len(data) == 1
    assert len(logs) == 1
    return {"data": data[0], "logs": logs[0]}


# Storage


def key_id(template: Template) -> str:
    (key,) = template.find_resources("AWS::KMS::Key")
    return str(key)


def kms_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [statement for statement in statements if any(a.startswith("kms:") for a in statement["Action"])]


@pytest.mark.reliability(
    "scan",
    "Encryption at rest: the data bucket",
    "SSE-KMS with the stack's key, public access blocked, versioned, access-logged, retained",
)
def test_data_bucket_is_encrypted_private_versioned_logged_and_retained(template: Template) -> None:
    ids = bucket_arn_ids(template)

    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "BucketKeyEnabled": True,
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {"Fn::GetAtt": [key_id(template), "Arn"]},
                            },
                        }
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "LoggingConfiguration": {"DestinationBucketName": {"Ref": ids["logs"]}},
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_access_log_bucket_is_encrypted_private_and_retained(template: Template) -> None:
    ids = bucket_arn_ids(template)
    logs = template.to_json()["Resources"][ids["logs"]]

    assert logs["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert all(logs["Properties"]["PublicAccessBlockConfiguration"].values())
    assert logs["DeletionPolicy"] == "Retain"


@pytest.mark.reliability(
    "scan",
    "TLS-only access",
    "Both buckets deny any request made without TLS",
)
def test_both_buckets_deny_requests_without_tls(template: Template) -> None:
    ids = bucket_arn_ids(template)

    for bucket_id in ids.values():
        template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": bucket_id},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "s3:*",
                                    "Principal": {"AWS": "*"},
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                },
            },
        )


def test_access_logs_are_delivered_through_a_bucket_policy_scoped_to_the_data_bucket(template: Template) -> None:
    ids = bucket_arn_ids(template)

    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": ids["logs"]},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Action": "s3:PutObject",
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                                "Condition": Match.object_like(
                                    {"ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [ids["data"], "Arn"]}}}
                                ),
                            }
                        )
                    ]
                )
            },
        },
    )


# Encryption at rest


@pytest.mark.parametrize("fixture", ["template", "custom"])
def test_one_customer_managed_key_rotates_yearly_and_outlives_the_stack(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    template: Template = request.getfixturevalue(fixture)

    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource(
        "AWS::KMS::Key",
        {"Properties": {"EnableKeyRotation": True}, "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"},
    )


@pytest.mark.reliability(
    "scan",
    "Encryption at rest: log groups",
    "Every log group is encrypted with the stack's rotating KMS key",
)
@pytest.mark.parametrize("fixture", ["template", "custom"])
def test_every_log_group_is_encrypted_with_the_key(request: pytest.FixtureRequest, fixture: str) -> None:
    template: Template = request.getfixturevalue(fixture)
    groups = template.find_resources("AWS::Logs::LogGroup")

    assert len(groups) == len(FUNCTION_HANDLERS) + 1  # the functions and the state machine
    for group in groups.values():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id(template), "Arn"]}


def test_cloudwatch_logs_may_use_the_key_for_this_accounts_log_groups_only(template: Template) -> None:
    key = template.to_json()["Resources"][key_id(template)]

    (logs_statement,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    assert flatten(logs_statement["Principal"]["Service"]) == "logs.<AWS::Region>.<AWS::URLSuffix>"
    assert "kms:GenerateDataKey" in logs_statement["Action"]
    assert "kms:Decrypt" in logs_statement["Action"]
    assert not [action for action in logs_statement["Action"] if "*" in action or "Create" in action]
    assert flatten(logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]) == (
        "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*"
    )


@pytest.mark.parametrize(
    ("role", "key_actions"),
    [
        ("CheckData", {"kms:Decrypt", "kms:GenerateDataKey"}),  # writes its manifest, reads it back on a retry
        ("SageMaker", {"kms:Decrypt", "kms:GenerateDataKey"}),  # reads data, writes and reads models
        ("StartTrainingJob", {"kms:Decrypt"}),  # reads the data files and the manifest to check them
        ("GetStatus", set()),
        ("DeployModel", set()),
        ("UpdateParameters", set()),
        ("PruneModels", set()),
        ("RecordLineage", {"kms:Decrypt", "kms:GenerateDataKey"}),  # writes run records
        ("CleanUp", set()),
        ("NotifySlack", set()),
    ],
)
def test_only_the_bucket_readers_and_writers_may_use_the_key_and_only_through_s3(
    template: Template, role: str, key_actions: set[str]
) -> None:
    statements = (
        role_statements(template, sagemaker_role_id(template))
        if role == "SageMaker"
        else function_statements(template, role)
    )

    granted = kms_statements(statements)
    assert {action for statement in granted for action in statement["Action"]} == key_actions
    for statement in granted:
        assert statement["Resource"] == {"Fn::GetAtt": [key_id(template), "Arn"]}
        assert flatten(statement["Condition"]["StringEquals"]["kms:ViaService"]) == "s3.<AWS::Region>.<AWS::URLSuffix>"
    # one statement per key operation, however many prefixes the role reads or writes
    assert len(granted) == len(key_actions)


def test_an_imported_bucket_gets_no_grant_on_the_stacks_key(custom: Template) -> None:
    for step in ("CheckData", "StartTrainingJob", "DeployModel"):
        assert kms_statements(function_statements(custom, step)) == []
    assert kms_statements(role_statements(custom, sagemaker_role_id(custom))) == []


def test_imported_bucket_creates_no_bucket_and_is_reached_by_name(custom: Template) -> None:
    custom.resource_count_is("AWS::S3::Bucket", 0)
    custom.resource_count_is("AWS::S3::BucketPolicy", 0)
    assert environment(custom, "CheckData")[env.DATA_BUCKET] == "existing-data-bucket"
    reads = [flatten(arn) for arn in resources_for(function_statements(custom, "StartTrainingJob"), "s3:GetObject")]
    assert reads == [
        "arn:<AWS::Partition>:s3:::existing-data-bucket/raw/churn/*",
        "arn:<AWS::Partition>:s3:::existing-data-bucket/manifests/churn/*",
    ]


def test_watermark_parameter_starts_empty(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SSM::Parameter",
        {
            "Name": "/sagemaker-retraining/demo/watermark",
            "Type": "String",
            "Tier": "Standard",
            "Value": '{"newest_data_date": null}',
        },
    )


# Functions


def test_the_functions_share_one_code_asset_and_the_layer(template: Template) -> None:
    template.resource_count_is("AWS::Lambda::Function", len(FUNCTION_HANDLERS))
    template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    layer_id = next(iter(template.find_resources("AWS::Lambda::LayerVersion")))
    keys = set()
    for step in FUNCTION_HANDLERS:
        properties = function_properties(template, step)
        assert properties["Layers"] == [{"Ref": layer_id}]
        keys.add(properties["Code"]["S3Key"])
    assert len(keys) == 1


@pytest.mark.parametrize("step", sorted(FUNCTION_HANDLERS))
def test_function_runtime_tracing_and_logging(template: Template, step: str) -> None:
    properties = function_properties(template, step)

    assert properties["Handler"] == FUNCTION_HANDLERS[step]
    assert properties["Runtime"] == "python3.14"
    assert properties["Architectures"] == ["x86_64"]
    assert properties["TracingConfig"] == {"Mode": "Active"}
    log_group = properties["LoggingConfig"]["LogGroup"]["Ref"]
    assert template.to_json()["Resources"][log_group]["Properties"]["RetentionInDays"] == 30
    assert "ReservedConcurrentExecutions" not in properties


@pytest.mark.parametrize(
    ("step", "timeout", "memory"),
    [
        ("CheckData", 300, 1024),
        ("StartTrainingJob", 900, 1769),  # streams the window's files to check them before training
        ("GetStatus", 60, 256),
        ("DeployModel", 60, 256),
        ("UpdateParameters", 60, 256),
        ("PruneModels", 60, 256),
        ("RecordLineage", 60, 256),
        ("CleanUp", 60, 256),
        ("NotifySlack", 60, 256),
    ],
)
def test_function_timeout_and_memory(template: Template, step: str, timeout: int, memory: int) -> None:
    properties = function_properties(template, step)

    assert (properties["Timeout"], properties["MemorySize"]) == (timeout, memory)


@pytest.mark.parametrize(
    ("step", "names"),
    [
        (
            "CheckData",
            {
                env.PIPELINE_NAME,
                env.DATA_BUCKET,
                env.DATA_PREFIX,
                env.MANIFEST_PREFIX,
                env.WAKE_PREFIX,  # where the run lease is
                env.WATERMARK_PARAMETER,
                env.WINDOW_DAYS,
                env.HOLDOUT,  # the newest day, held out by default
                env.EVALUATION,  # which the built-in evaluators score the models on
                env.TRAINING_VOLUME_SIZE_GB,
                env.MAX_FILES_PER_RUN,
            },
        ),
        (
            "StartTrainingJob",
            {
                env.PIPELINE_NAME,
                env.DATA_BUCKET,
                env.MODEL_PREFIX,
                env.TRAINING_IMAGE,
                env.SAGEMAKER_ROLE_ARN,
                env.TRAINING_INSTANCE_TYPE,
                env.TRAINING_INSTANCE_COUNT,
                env.TRAINING_VOLUME_SIZE_GB,
                env.TRAINING_MAX_RUNTIME_SECONDS,
                env.HYPERPARAMETERS,
                env.POLL_INTERVAL_SECONDS,
                env.VALIDATE_DATA,
            },
        ),
        (
            "GetStatus",
            {
                env.POLL_INTERVAL_SECONDS,
                env.MAX_TRAINING_WAIT_SECONDS,
                env.MAX_DEPLOYMENT_WAIT_SECONDS,
                env.EVALUATION,
                env.PRICES,
            },
        ),
        (
            "DeployModel",
            {
                env.PIPELINE_NAME,
                env.ENDPOINT_NAME,
                env.ENDPOINT_INSTANCE_TYPE,
                env.ENDPOINT_INSTANCE_COUNT,
                env.INFERENCE_IMAGE,
                env.SAGEMAKER_ROLE_ARN,
                env.POLL_INTERVAL_SECONDS,
            },
        ),
        ("UpdateParameters", {env.PIPELINE_NAME, env.WATERMARK_PARAMETER, env.ENDPOINT_NAME}),
        ("PruneModels", {env.PIPELINE_NAME, env.ENDPOINT_NAME, env.WATERMARK_PARAMETER, env.KEEP_LAST}),
        ("RecordLineage", {env.PIPELINE_NAME, env.DATA_BUCKET, env.RUNS_PREFIX, env.ENDPOINT_NAME}),
        ("CleanUp", {env.PIPELINE_NAME, env.ENDPOINT_NAME, env.EVALUATION}),  # stops the evaluation jobs
        ("NotifySlack", {env.PIPELINE_NAME}),
    ],
)
def test_function_environment_holds_exactly_its_settings(template: Template, step: str, names: set[str]) -> None:
    variables = environment(template, step)

    assert set(variables) == names | {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "SageMakerRetraining"


def test_environment_values_come_from_the_config(template: Template) -> None:
    check_data = environment(template, "CheckData")
    assert check_data[env.DATA_PREFIX] == "data/demo"
    assert check_data[env.MANIFEST_PREFIX] == "manifests/demo"
    assert check_data[env.WINDOW_DAYS] == "7"
    assert (check_data[env.TRAINING_VOLUME_SIZE_GB], check_data[env.MAX_FILES_PER_RUN]) == ("30", "100000")
    assert flatten(check_data[env.WATERMARK_PARAMETER]).startswith("<WatermarkParameter")

    training = environment(template, "StartTrainingJob")
    assert training[env.MODEL_PREFIX] == "models/demo"
    assert training[env.TRAINING_INSTANCE_TYPE] == "ml.m5.large"
    assert training[env.TRAINING_INSTANCE_COUNT] == "1"
    assert training[env.TRAINING_VOLUME_SIZE_GB] == "30"
    assert training[env.TRAINING_MAX_RUNTIME_SECONDS] == "86400"
    assert training[env.VALIDATE_DATA] == "true"
    assert json.loads(training[env.HYPERPARAMETERS]) == {"predictor_type": "regressor"}
    assert training[env.SAGEMAKER_ROLE_ARN] == {"Fn::GetAtt": [sagemaker_role_id(template), "Arn"]}

    status = environment(template, "GetStatus")
    assert (
        status[env.POLL_INTERVAL_SECONDS],
        status[env.MAX_TRAINING_WAIT_SECONDS],
        status[env.MAX_DEPLOYMENT_WAIT_SECONDS],
    ) == ("60", "86400", "3600")

    deploy = environment(template, "DeployModel")
    assert (deploy[env.ENDPOINT_NAME], deploy[env.ENDPOINT_INSTANCE_TYPE], deploy[env.ENDPOINT_INSTANCE_COUNT]) == (
        "demo",
        "ml.m5.large",
        "1",
    )


# Permissions


def test_each_function_has_its_own_role_and_no_role_uses_managed_policies(template: Template) -> None:
    roles = {function_properties(template, step)["Role"]["Fn::GetAtt"][0] for step in STEP_HANDLERS}

    assert len(roles) == len(STEP_HANDLERS)
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


@pytest.mark.parametrize("fixture", ["template", "custom"])
def test_no_policy_allows_every_action_or_every_s3_action(request: pytest.FixtureRequest, fixture: str) -> None:
    template: Template = request.getfixturevalue(fixture)

    for statement in all_statements(template):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not [action for action in actions if action.endswith("*")], statement
        if statement["Resource"] == "*":
            assert set(actions) <= RESOURCE_STAR_ACTIONS, statement


@pytest.mark.parametrize("step", sorted(STEP_HANDLERS))
def test_function_may_write_its_own_log_group_only(template: Template, step: str) -> None:
    log_group = function_properties(template, step)["LoggingConfig"]["LogGroup"]["Ref"]

    assert resources_for(function_statements(template, step), "logs:PutLogEvents") == [
        {"Fn::GetAtt": [log_group, "Arn"]}
    ]


def test_check_data_reads_data_writes_manifests_and_reads_the_watermark(template: Template) -> None:
    statements = function_statements(template, "CheckData")
    data_bucket = bucket_arn_ids(template)["data"]

    # CheckData lists the data; it reads back only its own manifest (a retried attempt compares it) and the lease
    lease = f"<{data_bucket}.Arn>/waits/demo/run.lease"
    assert sorted(flatten(arn) for arn in resources_for(statements, "s3:GetObject")) == [
        f"<{data_bucket}.Arn>/manifests/demo/*",
        lease,
    ]
    # CheckData cannot write anywhere but the manifest prefix and the one lease object
    assert sorted(flatten(arn) for arn in resources_for(statements, "s3:PutObject")) == [
        f"<{data_bucket}.Arn>/manifests/demo/*",
        lease,
    ]
    listings = [statement["Condition"] for statement in statements if "s3:ListBucket" in statement["Action"]]
    assert {"StringLike": {"s3:prefix": ["data/demo", "data/demo/*"]}} in listings
    assert {"StringLike": {"s3:prefix": ["waits/demo/run.lease", "waits/demo/run.lease/*"]}} in listings
    assert len(listings) == 2
    assert [flatten(arn) for arn in resources_for(statements, "ssm:GetParameter")] == [watermark_arn(template)]
    assert resources_for(statements, "ssm:PutParameter") == []
    # The run lease asks whether its holder still runs: this pipeline's executions only; nothing lists them.
    assert [flatten(arn) for arn in resources_for(statements, "states:DescribeExecution")] == [
        "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:sagemaker-retraining-demo:*"
    ]
    assert resources_for(statements, "states:ListExecutions") == []


def test_start_training_job_may_train_under_the_pipeline_prefix_and_pass_the_sagemaker_role(
    template: Template,
) -> None:
    statements = function_statements(template, "StartTrainingJob")
    training_jobs = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/demo-*"

    for action in (
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:AddTags",
        "sagemaker:ListTags",
    ):
        assert [flatten(arn) for arn in resources_for(statements, action)] == [training_jobs]
    (pass_role,) = [statement for statement in statements if "iam:PassRole" in statement["Action"]]
    assert pass_role["Resource"] == {"Fn::GetAtt": [sagemaker_role_id(template), "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    # It reads the manifest and the data files to check them before training, and writes nothing.
    data_bucket = bucket_arn_ids(template)["data"]
    assert [flatten(arn) for arn in resources_for(statements, "s3:GetObject")] == [
        f"<{data_bucket}.Arn>/data/demo/*",
        f"<{data_bucket}.Arn>/manifests/demo/*",
    ]
    assert resources_for(statements, "s3:PutObject") == []
    # It may list the data prefix only: so that a file deleted since CheckData reads as missing (404), not denied.
    (listing,) = [statement for statement in statements if "s3:ListBucket" in statement["Action"]]
    assert listing["Resource"] == {"Fn::GetAtt": [data_bucket, "Arn"]}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["data/demo", "data/demo/*"]}}


def test_without_data_validation_start_training_job_reads_nothing_and_runs_briefly() -> None:
    # GIVEN a pipeline that leaves the data check to the training job
    template = pipeline_template(pipeline(training={"validate_data": False, "volume_size_gb": 200}))

    # THEN StartTrainingJob only passes the manifest's URI on (SageMaker reads it with its own role)
    statements = function_statements(template, "StartTrainingJob")
    assert resources_for(statements, "s3:GetObject") == []
    assert environment(template, "StartTrainingJob")[env.VALIDATE_DATA] == "false"
    properties = function_properties(template, "StartTrainingJob")
    assert (properties["Timeout"], properties["MemorySize"]) == (60, 256)
    # and CheckData still checks the manifest against the configured volume
    assert environment(template, "CheckData")[env.TRAINING_VOLUME_SIZE_GB] == "200"


def test_get_status_may_only_describe(template: Template) -> None:
    statements = function_statements(template, "GetStatus")
    actions = {action for statement in statements for action in statement["Action"]}

    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:DescribeTransformJob",  # the held-out evaluation's jobs
        "sagemaker:DescribeEndpoint",
    }
    assert [flatten(arn) for arn in resources_for(statements, "sagemaker:DescribeEndpoint")] == [
        "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:endpoint/demo"
    ]


def test_deploy_model_is_scoped_to_run_resources_and_the_endpoint(custom: Template) -> None:
    statements = function_statements(custom, "DeployModel")
    arn = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"

    assert {flatten(a) for a in resources_for(statements, "sagemaker:CreateModel")} == {f"{arn}model/churn-*"}
    assert {flatten(a) for a in resources_for(statements, "sagemaker:CreateEndpointConfig")} == {
        f"{arn}endpoint-config/churn-*"
    }
    # SageMaker ARNs carry lowercase names; IAM authorizes CreateEndpoint on the endpoint config too
    for action in ("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"):
        assert {flatten(a) for a in resources_for(statements, action)} == {
            f"{arn}endpoint/churn-endpoint",
            f"{arn}endpoint-config/churn-*",
        }
    assert {flatten(a) for a in resources_for(statements, "sagemaker:DescribeEndpoint")} == {
        f"{arn}endpoint/churn-endpoint"
    }
    assert {flatten(a) for a in resources_for(statements, "sagemaker:AddTags")} == {
        f"{arn}model/churn-*",
        f"{arn}endpoint-config/churn-*",
        f"{arn}endpoint/churn-endpoint",
    }
    assert len(resources_for(statements, "iam:PassRole")) == 1


def test_update_parameters_may_read_and_write_the_watermark_only(template: Template) -> None:
    statements = function_statements(template, "UpdateParameters")
    parameter = watermark_arn(template)

    assert [flatten(arn) for arn in resources_for(statements, "ssm:GetParameter")] == [parameter]
    assert [flatten(arn) for arn in resources_for(statements, "ssm:PutParameter")] == [parameter]
    assert [flatten(arn) for arn in resources_for(statements, "sagemaker:DescribeEndpoint")] == [
        "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:endpoint/demo"
    ]


def test_record_lineage_may_write_run_records_and_the_runs_lineage_only(template: Template) -> None:
    statements = function_statements(template, "RecordLineage")
    arn = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
    bucket = bucket_arn_ids(template)["data"]

    assert [flatten(a) for a in resources_for(statements, "s3:PutObject")] == [f"<{bucket}.Arn>/runs/demo/*"]
    assert resources_for(statements, "s3:GetObject") == []
    assert resources_for(statements, "s3:DeleteObject") == []
    assert {flatten(a) for a in resources_for(statements, "sagemaker:AddAssociation")} == {
        f"{arn}artifact/*",
        f"{arn}action/demo-*",
        f"{arn}context/demo-*",  # SageMaker's own context of the endpoint, or RecordLineage's
    }
    assert [flatten(a) for a in resources_for(statements, "sagemaker:CreateContext")] == [f"{arn}context/demo-endpoint"]
    assert [flatten(a) for a in resources_for(statements, "sagemaker:CreateAction")] == [f"{arn}action/demo-*"]
    granted = {a for statement in statements for a in statement["Action"] if a.startswith("sagemaker:")}
    assert granted == {
        "sagemaker:ListArtifacts",
        "sagemaker:ListActions",
        "sagemaker:ListContexts",
        "sagemaker:CreateArtifact",
        "sagemaker:CreateAction",
        "sagemaker:DescribeAction",
        "sagemaker:CreateContext",
        "sagemaker:DescribeContext",
        "sagemaker:AddAssociation",
    }


def test_clean_up_may_stop_and_delete_only_run_resources_and_the_endpoint(template: Template) -> None:
    statements = function_statements(template, "CleanUp")
    arn = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"

    assert [flatten(a) for a in resources_for(statements, "sagemaker:StopTrainingJob")] == [f"{arn}training-job/demo-*"]
    assert [flatten(a) for a in resources_for(statements, "sagemaker:DeleteModel")] == [f"{arn}model/demo-*"]
    assert [flatten(a) for a in resources_for(statements, "sagemaker:DeleteEndpointConfig")] == [
        f"{arn}endpoint-config/demo-*"
    ]
    assert [flatten(a) for a in resources_for(statements, "sagemaker:DeleteEndpoint")] == [f"{arn}endpoint/demo"]
    assert not resources_for(statements, "ssm:PutParameter")  # the watermark never moves on a failed run


def test_prune_models_deletes_only_tagged_run_resources_and_reads_the_watermark_history(template: Template) -> None:
    statements = function_statements(template, "PruneModels")
    arn = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
    run_resources = [f"{arn}model/demo-*", f"{arn}endpoint-config/demo-*"]

    assert environment(template, "PruneModels")[env.KEEP_LAST] == "5"
    for action in ("sagemaker:DeleteModel", "sagemaker:DeleteEndpointConfig"):
        (deleting,) = [statement for statement in statements if action in statement["Action"]]
        assert [flatten(a) for a in deleting["Resource"]] == run_resources
        # Only what carries the pipeline's tag, whatever the name says.
        assert deleting["Condition"] == {"StringEquals": {"aws:ResourceTag/sagemaker-retraining:pipeline": "demo"}}
    assert [flatten(a) for a in resources_for(statements, "sagemaker:ListTags")] == run_resources
    assert resources_for(statements, "sagemaker:ListModels") == ["*"]
    assert [flatten(a) for a in resources_for(statements, "sagemaker:DescribeEndpoint")] == [f"{arn}endpoint/demo"]
    assert [flatten(a) for a in resources_for(statements, "ssm:GetParameterHistory")] == [watermark_arn(template)]
    assert not resources_for(statements, "ssm:PutParameter")
    assert not resources_for(statements, "sagemaker:DeleteEndpoint")


def test_housekeeping_keep_last_reaches_the_function() -> None:
    template = pipeline_template(pipeline(housekeeping={"keep_last": 12}))

    assert environment(template, "PruneModels")[env.KEEP_LAST] == "12"


def test_sagemaker_role_is_scoped_to_the_pipeline_prefixes(template: Template) -> None:
    statements = role_statements(template, sagemaker_role_id(template))
    bucket = f"<{bucket_arn_ids(template)['data']}.Arn>"

    assert sorted(flatten(arn) for arn in resources_for(statements, "s3:GetObject")) == [
        f"{bucket}/data/demo/*",
        f"{bucket}/manifests/demo/*",
        f"{bucket}/models/demo/*",
    ]
    assert [flatten(arn) for arn in resources_for(statements, "s3:PutObject")] == [
        f"{bucket}/models/demo/*",
        f"{bucket}/predictions/data/demo/*",  # the operator's `transform` writes there by default
        f"{bucket}/evaluations/demo/*",  # the held-out evaluation's transform jobs
    ]
    (listing,) = [statement for statement in statements if "s3:ListBucket" in statement["Action"]]
    assert listing["Condition"]["StringLike"]["s3:prefix"] == [
        "data/demo",
        "data/demo/*",
        "manifests/demo",
        "manifests/demo/*",
    ]
    assert [flatten(arn) for arn in resources_for(statements, "logs:PutLogEvents")] == [
        "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/*"
    ]
    (metrics,) = [statement for statement in statements if "cloudwatch:PutMetricData" in statement["Action"]]
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker*"}}
    # SageMaker pulls its own built-in images: no ECR permissions for Linear Learner
    assert not [action for statement in statements for action in statement["Action"] if action.startswith("ecr:")]


def test_sagemaker_role_may_pull_the_callers_images(custom: Template) -> None:
    statements = role_statements(custom, sagemaker_role_id(custom))

    assert sorted(flatten(arn) for arn in resources_for(statements, "ecr:BatchGetImage")) == [
        "arn:<AWS::Partition>:ecr:eu-west-1:111122223333:repository/team/server",
        "arn:<AWS::Partition>:ecr:eu-west-1:111122223333:repository/team/trainer",
    ]
    assert resources_for(statements, "ecr:GetAuthorizationToken") == ["*"]


# Images


def test_linear_learner_image_is_looked_up_by_region_at_deploy_time(template: Template) -> None:
    registries = template.to_json()["Mappings"]["LinearLearnerRegistries"]

    assert registries["us-east-1"] == {"account": "382416733822"}
    assert registries["eu-west-1"] == {"account": "438346466558"}
    assert len(registries) >= 25
    expected = {
        "Fn::Join": [
            "",
            [
                {"Fn::FindInMap": ["LinearLearnerRegistries", {"Ref": "AWS::Region"}, "account"]},
                ".dkr.ecr.",
                {"Ref": "AWS::Region"},
                ".",
                {"Ref": "AWS::URLSuffix"},
                "/linear-learner:1",
            ],
        ]
    }
    assert environment(template, "StartTrainingJob")[env.TRAINING_IMAGE] == expected
    assert environment(template, "DeployModel")[env.INFERENCE_IMAGE] == expected


def test_explicit_images_are_used_as_given(custom: Template) -> None:
    assert environment(custom, "StartTrainingJob")[env.TRAINING_IMAGE] == TRAINING_IMAGE
    assert environment(custom, "DeployModel")[env.INFERENCE_IMAGE] == INFERENCE_IMAGE
    assert "Mappings" not in custom.to_json()


def test_inference_image_defaults_to_the_training_image() -> None:
    template = pipeline_template(pipeline(algorithm={"image_uri": TRAINING_IMAGE}))

    assert environment(template, "DeployModel")[env.INFERENCE_IMAGE] == TRAINING_IMAGE


# Slack


def test_slack_secret_is_named_and_granted_never_given(custom: Template) -> None:
    variables = environment(custom, "NotifySlack")

    assert variables[env.SLACK_CHANNEL] == "#ml-alerts"
    assert variables[env.SLACK_TOKEN_SECRET_NAME] == "slack/ml-bot"
    statements = function_statements(custom, "NotifySlack")
    assert [flatten(arn) for arn in resources_for(statements, "secretsmanager:GetSecretValue")] == [
        "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:slack/ml-bot-??????"
    ]
    custom.resource_count_is("AWS::SecretsManager::Secret", 0)
    text = json.dumps(custom.to_json())
    assert "xoxb-" not in text
    assert "SecretString" not in text
    assert "resolve:secretsmanager" not in text


def test_check_data_may_see_that_the_slack_secret_exists_but_not_read_it(custom: Template) -> None:
    assert environment(custom, "CheckData")[env.SLACK_TOKEN_SECRET_NAME] == "slack/ml-bot"
    statements = function_statements(custom, "CheckData")
    assert [flatten(arn) for arn in resources_for(statements, "secretsmanager:DescribeSecret")] == [
        "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:slack/ml-bot-??????"
    ]
    assert resources_for(statements, "secretsmanager:GetSecretValue") == []


def test_slack_secret_under_a_customer_managed_key_may_be_decrypted_through_secrets_manager_only() -> None:
    key_arn = "arn:aws:kms:us-east-1:111122223333:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    template = pipeline_template(
        pipeline(slack={"channel": "#ml-alerts", "token_secret_name": "slack/ml-bot", "token_kms_key_arn": key_arn})
    )

    (decrypt,) = kms_statements(function_statements(template, "NotifySlack"))
    assert (decrypt["Action"], decrypt["Resource"]) == (["kms:Decrypt"], key_arn)
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {
                "Fn::Join": ["", ["secretsmanager.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]
            }
        }
    }


def test_slack_secret_under_the_default_key_needs_no_key_grant(custom: Template) -> None:
    assert kms_statements(function_statements(custom, "NotifySlack")) == []


def test_without_slack_the_notifier_gets_no_secret(template: Template) -> None:
    assert env.SLACK_TOKEN_SECRET_NAME not in environment(template, "NotifySlack")
    assert env.SLACK_TOKEN_SECRET_NAME not in environment(template, "CheckData")
    assert resources_for(function_statements(template, "NotifySlack"), "secretsmanager:GetSecretValue") == []
    assert resources_for(function_statements(template, "CheckData"), "secretsmanager:DescribeSecret") == []


# Schedule, logs, outputs, tags


def test_every_log_group_keeps_logs_for_the_configured_retention(custom: Template) -> None:
    groups = custom.find_resources("AWS::Logs::LogGroup")

    assert len(groups) == len(FUNCTION_HANDLERS) + 1  # the functions and the state machine
    assert {group["Properties"]["RetentionInDays"] for group in groups.values()} == {90}


def test_outputs_name_what_operators_need(template: Template) -> None:
    outputs = template.to_json()["Outputs"]
    state_machine = next(iter(template.find_resources("AWS::StepFunctions::StateMachine")))

    assert outputs["StateMachineArn"]["Value"] == {"Ref": state_machine}
    assert outputs["DataBucketName"]["Value"] == {"Ref": bucket_arn_ids(template)["data"]}
    assert flatten(outputs["WatermarkParameterName"]["Value"]).startswith("<WatermarkParameter")
    assert outputs["EndpointName"]["Value"] == "demo"
    assert outputs["RunsPrefix"]["Value"] == "runs/demo"  # where the lineage CLI reads run records


def test_resources_are_tagged_with_the_pipeline(custom: Template) -> None:
    tag = Match.array_with([{"Key": "pipeline", "Value": "churn"}])

    custom.has_resource_properties("AWS::Lambda::Function", {"Tags": tag})
    custom.has_resource_properties("AWS::StepFunctions::StateMachine", {"Tags": tag})
    custom.has_resource_properties("AWS::IAM::Role", {"Tags": tag})


def test_function_ids_are_found_by_handler(template: Template) -> None:
    assert {function_id(template, step) for step in FUNCTION_HANDLERS} == set(
        template.find_resources("AWS::Lambda::Function")
    )
