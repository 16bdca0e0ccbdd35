"""EventBridge in the local runtime: rules match events with moto's matcher and deliver to Lambda and Step Functions."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from local_runtime.deploy import deploy
from local_runtime.event_bus import EventBus, target_input
from local_runtime.lambda_invoke import LocalFunction
from local_runtime.server import LocalAws
from local_runtime.template import read_stack

REGION, ACCOUNT = "eu-west-1", "123456789012"
LISTENER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:listener"
FAILING_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:failing"
ORDER_PATTERN = {"source": ["shop.orders"], "detail-type": ["Order Placed"], "detail": {"status": ["paid"]}}
HANDLERS = "tests.unit.local_runtime.event_handler"
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalAws(events=EventBus(retry_delay_seconds=0)) as aws:
        aws.register_function(LocalFunction("listener", LISTENER_ARN, f"{HANDLERS}.echo"))
        aws.register_function(LocalFunction("failing", FAILING_ARN, f"{HANDLERS}.reject"))
        yield aws


@pytest.fixture
def aws(local_aws: LocalAws, aws_env: None) -> LocalAws:
    """The module's local AWS with no rules, executions or recorded invocations left by an earlier test."""
    requests.post(f"{local_aws.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
    local_aws.functions.invocations.clear()
    local_aws.events.deliveries.clear()
    return local_aws


def client(aws: LocalAws, service: str) -> Any:
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name=REGION)  # type: ignore[call-overload]


def put_rule(aws: LocalAws, pattern: dict[str, Any], *targets: dict[str, Any], state: str = "ENABLED") -> None:
    events = client(aws, "events")
    events.put_rule(Name="orders", EventPattern=json.dumps(pattern), State=state)
    events.put_targets(Rule="orders", Targets=[{"Id": f"t{i}", **target} for i, target in enumerate(targets)])


def put_order(aws: LocalAws, detail: dict[str, Any], *, source: str = "shop.orders") -> dict[str, Any]:
    answer: dict[str, Any] = client(aws, "events").put_events(
        Entries=[{"Source": source, "DetailType": "Order Placed", "Detail": json.dumps(detail), "Resources": ["r"]}]
    )
    return answer


def received(aws: LocalAws, function: str) -> list[Any]:
    assert aws.events.wait_until_idle(timeout_seconds=30)
    return [event for name, event in aws.functions.invocations if name == function]


@pytest.mark.compatibility("events:delivery")
def test_put_events_delivers_a_matching_event_to_the_lambda_target_once(aws: LocalAws) -> None:
    # GIVEN a rule for paid orders targeting a registered function
    put_rule(aws, ORDER_PATTERN, {"Arn": LISTENER_ARN})

    # WHEN a paid order is put through boto3 against the local server
    answer = put_order(aws, {"status": "paid", "order": 7})

    # THEN the function receives the event once, as EventBridge shapes it
    (event,) = received(aws, "listener")
    assert answer["FailedEntryCount"] == 0
    assert event["id"] == answer["Entries"][0]["EventId"]
    assert (event["source"], event["detail-type"]) == ("shop.orders", "Order Placed")
    assert event["detail"] == {"status": "paid", "order": 7}
    assert (event["account"], event["region"], event["resources"], event["version"]) == (ACCOUNT, REGION, ["r"], "0")
    assert ISO_TIME.match(event["time"])
    assert [d.delivered for d in aws.events.deliveries] == [True]


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("shop.returns", {"status": "paid"}),  # another source
        ("shop.orders", {"status": "refunded"}),  # a detail value the pattern does not list
        ("shop.orders", {"order": 7}),  # the field the pattern filters on is missing
    ],
)
def test_an_event_the_pattern_does_not_match_reaches_no_target(
    aws: LocalAws, source: str, detail: dict[str, Any]
) -> None:
    # GIVEN a rule for paid orders
    put_rule(aws, ORDER_PATTERN, {"Arn": LISTENER_ARN})

    # WHEN another event is put
    answer = put_order(aws, detail, source=source)

    # THEN it is accepted and delivered nowhere
    assert answer["FailedEntryCount"] == 0
    assert received(aws, "listener") == []
    assert aws.events.deliveries == []


def test_a_disabled_rule_delivers_nothing(aws: LocalAws) -> None:
    # GIVEN a matching rule that is disabled
    put_rule(aws, ORDER_PATTERN, {"Arn": LISTENER_ARN}, state="DISABLED")

    # WHEN a paid order is put
    put_order(aws, {"status": "paid"})

    # THEN nothing is delivered
    assert received(aws, "listener") == []


def test_a_schedule_rule_matches_no_event(aws: LocalAws) -> None:
    # GIVEN a rule with only a schedule (moto matches its empty pattern against every event)
    events = client(aws, "events")
    events.put_rule(Name="nightly", ScheduleExpression="cron(0 6 * * ? *)")
    events.put_targets(Rule="nightly", Targets=[{"Id": "listener", "Arn": LISTENER_ARN}])

    # WHEN an event is put
    put_order(aws, {"status": "paid"})

    # THEN the schedule's target does not receive it
    assert received(aws, "listener") == []


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"InputPath": "$.detail"}, {"status": "paid", "order": 7}),
        ({"InputPath": "$.detail.order"}, 7),
        ({"Input": '{"trigger": "order"}'}, {"trigger": "order"}),
        (
            {
                "InputTransformer": {
                    "InputPathsMap": {"order": "$.detail.order", "source": "$.source"},
                    "InputTemplate": '{"order": <order>, "from": "<source>"}',
                }
            },
            {"order": 7, "from": "shop.orders"},
        ),
    ],
)
def test_the_target_receives_its_input_instead_of_the_event(
    aws: LocalAws, target: dict[str, Any], expected: Any
) -> None:
    # GIVEN a target that selects or replaces what it receives
    put_rule(aws, ORDER_PATTERN, {"Arn": LISTENER_ARN, **target})

    # WHEN a paid order is put
    put_order(aws, {"status": "paid", "order": 7})

    # THEN the function receives that input
    assert received(aws, "listener") == [expected]


@pytest.mark.compatibility("events:delivery")
def test_a_state_machine_target_starts_one_execution_per_event_with_the_event_as_input(aws: LocalAws) -> None:
    # GIVEN a rule targeting a state machine
    sfn = client(aws, "stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    machine = sfn.create_state_machine(
        name="on-order", definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
    )["stateMachineArn"]
    put_rule(aws, ORDER_PATTERN, {"Arn": machine, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events"})

    # WHEN two paid orders are put
    ids = [put_order(aws, {"status": "paid", "order": n})["Entries"][0]["EventId"] for n in (1, 2)]
    assert aws.events.wait_until_idle(timeout_seconds=30)

    # THEN each started its own execution, named uniquely, with the event as input
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    inputs = [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]
    assert sorted(i["id"] for i in inputs) == sorted(ids)
    assert sorted(i["detail"]["order"] for i in inputs) == [1, 2]
    assert len({e["name"] for e in executions}) == 2


def test_a_failed_delivery_is_retried_once_then_logged_and_never_fails_the_sender(
    aws: LocalAws, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a rule whose function always raises
    put_rule(aws, ORDER_PATTERN, {"Arn": FAILING_ARN})

    # WHEN a paid order is put
    with caplog.at_level(logging.ERROR, logger="local_runtime.event_bus"):
        answer = put_order(aws, {"status": "paid"})
        invocations = received(aws, "failing")

    # THEN PutEvents succeeded, the function ran twice, and the failure was logged
    assert answer["FailedEntryCount"] == 0
    assert len(invocations) == 2
    (delivery,) = aws.events.deliveries
    assert (delivery.delivered, delivery.attempts) == (False, 2)
    assert "RejectedEventError" in (delivery.error or "")
    assert "not delivered to " + FAILING_ARN in caplog.text


def test_a_target_function_the_runtime_does_not_know_is_logged(aws: LocalAws, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a rule targeting a function nobody registered
    put_rule(aws, ORDER_PATTERN, {"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:absent"})

    # WHEN a paid order is put
    with caplog.at_level(logging.ERROR, logger="local_runtime.event_bus"):
        answer = put_order(aws, {"status": "paid"})
        assert aws.events.wait_until_idle(timeout_seconds=30)

    # THEN the sender never sees it; the log names the target
    assert answer["FailedEntryCount"] == 0
    assert "function:absent" in caplog.text


def test_other_targets_of_the_rule_stay_with_moto(aws: LocalAws) -> None:
    # GIVEN a rule targeting both a function and an SQS queue
    sqs = client(aws, "sqs")
    queue = sqs.create_queue(QueueName="orders")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    put_rule(aws, ORDER_PATTERN, {"Arn": LISTENER_ARN}, {"Arn": queue_arn})

    # WHEN a paid order is put
    put_order(aws, {"status": "paid", "order": 7})

    # THEN both receive it
    assert [event["detail"] for event in received(aws, "listener")] == [{"status": "paid", "order": 7}]
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert json.loads(message["Body"])["detail"] == {"status": "paid", "order": 7}


def test_the_deployed_templates_rules_deliver(aws: LocalAws) -> None:
    # GIVEN a template whose rule targets its function with the event's detail
    template = {
        "Resources": {
            "Listener": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"FunctionName": "template-listener", "Handler": f"{HANDLERS}.echo"},
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionString": '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}'},
            },
            "OnOrder": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventPattern": ORDER_PATTERN,
                    "Targets": [
                        {"Id": "listener", "Arn": {"Fn::GetAtt": ["Listener", "Arn"]}, "InputPath": "$.detail"}
                    ],
                },
            },
        }
    }
    deploy(aws, read_stack(template, stack_name="orders", region=REGION))

    # WHEN a paid order is put
    put_order(aws, {"status": "paid", "order": 3})

    # THEN the template's function receives the detail
    assert received(aws, "template-listener") == [{"status": "paid", "order": 3}]
    assert client(aws, "events").list_rules()["Rules"][0]["Name"] == "orders-OnOrder"


# deploy.py creates buckets without a location constraint, which S3 takes in us-east-1 only.
S3_REGION = "us-east-1"


def data_template(*, eventbridge: bool) -> dict[str, Any]:
    """A bucket (sending its object events to EventBridge or not) and a rule on objects created under data/."""
    bucket: dict[str, Any] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "uploads"}}
    if eventbridge:
        bucket["Properties"]["NotificationConfiguration"] = {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    return {
        "Resources": {
            "Data": bucket,
            "Listener": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"FunctionName": "uploads-listener", "Handler": f"{HANDLERS}.echo"},
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionString": '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}'},
            },
            "OnUpload": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventPattern": {
                        "source": ["aws.s3"],
                        "detail-type": ["Object Created"],
                        "detail": {"bucket": {"name": [{"Ref": "Data"}]}, "object": {"key": [{"prefix": "data/"}]}},
                    },
                    "Targets": [{"Id": "listener", "Arn": {"Fn::GetAtt": ["Listener", "Arn"]}}],
                },
            },
        }
    }


def test_objects_created_in_a_bucket_with_eventbridge_notifications_reach_the_rules(aws: LocalAws) -> None:
    # GIVEN a deployed bucket whose template turns EventBridge notifications on
    deploy(aws, read_stack(data_template(eventbridge=True), stack_name="uploads", region=S3_REGION))

    # WHEN objects are put under the rule's prefix and elsewhere
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url, region_name=S3_REGION)
    s3.put_object(Bucket="uploads", Key="data/2026-05-01.csv", Body=b"1,2\n")
    s3.put_object(Bucket="uploads", Key="other/2026-05-01.csv", Body=b"1,2\n")

    # THEN the function receives S3's "Object Created" event for the matching object only
    (event,) = received(aws, "uploads-listener")
    assert (event["source"], event["detail-type"]) == ("aws.s3", "Object Created")
    assert event["detail"]["bucket"]["name"] == "uploads"
    assert event["detail"]["object"]["key"] == "data/2026-05-01.csv"
    assert ISO_TIME.match(event["time"])


def test_a_bucket_without_eventbridge_notifications_sends_no_events(aws: LocalAws) -> None:
    deploy(aws, read_stack(data_template(eventbridge=False), stack_name="uploads", region=S3_REGION))

    boto3.client("s3", endpoint_url=aws.endpoint_url, region_name=S3_REGION).put_object(
        Bucket="uploads", Key="data/2026-05-01.csv", Body=b"1,2\n"
    )

    assert received(aws, "uploads-listener") == []


def test_target_input_without_input_settings_is_the_whole_event() -> None:
    event = {"id": "1", "detail": {"a": 1}}
    assert json.loads(target_input({"Arn": LISTENER_ARN}, event)) == event
