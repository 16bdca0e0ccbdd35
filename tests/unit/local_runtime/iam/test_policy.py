"""IAM's policy evaluation: explicit deny, allow, implicit deny; wildcards; conditions; what cannot be judged."""

from __future__ import annotations

from typing import Any

import pytest

from local_runtime.iam.policy import (
    Effect,
    NamedPolicy,
    Request,
    UnknownOperatorError,
    action_matches,
    condition_holds,
    evaluate,
    resource_matches,
)

BUCKET = "arn:aws:s3:::data-bucket"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-role"
STATES = "arn:aws:states"


def policy(*statements: dict[str, Any], name: str = "inline") -> NamedPolicy:
    return NamedPolicy(name, {"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def test_nothing_that_applies_is_an_implicit_deny() -> None:
    decision = evaluate([policy(allow("s3:GetObject", f"{BUCKET}/data/*"))], Request("s3:PutObject", f"{BUCKET}/x"))

    assert decision.effect is Effect.IMPLICIT_DENY
    assert not decision.allowed


def test_an_allow_that_applies_allows_and_names_its_policy_and_sid() -> None:
    statement = allow("s3:GetObject", f"{BUCKET}/data/*", Sid="ReadData")

    decision = evaluate([policy(statement, name="CheckDataPolicy")], Request("s3:GetObject", f"{BUCKET}/data/a.csv"))

    assert decision.allowed
    assert (decision.policy, decision.sid) == ("CheckDataPolicy", "ReadData")


def test_an_explicit_deny_in_another_policy_wins_over_an_allow() -> None:
    policies = [policy(allow("s3:*", "*")), policy(deny("s3:DeleteObject", f"{BUCKET}/*"), name="guard")]

    decision = evaluate(policies, Request("s3:DeleteObject", f"{BUCKET}/model.tar.gz"))

    assert decision.effect is Effect.EXPLICIT_DENY
    assert decision.policy == "guard"


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("s3:GetObject", "s3:GetObject", True),
        ("S3:getobject", "s3:GetObject", True),  # IAM compares actions without regard to case
        ("s3:Get*", "s3:GetObjectTagging", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:Get?bject", "s3:GetObjects", False),
        ("sagemaker:*", "s3:GetObject", False),
        ("*", "kms:Decrypt", True),
    ],
)
def test_actions_match_with_wildcards_and_without_case(pattern: str, action: str, matches: bool) -> None:
    assert action_matches(pattern, action) is matches


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        (f"{BUCKET}/data/*", f"{BUCKET}/data/2026/12/04.csv", True),  # * crosses slashes
        (f"{BUCKET}/data/*", f"{BUCKET}/manifests/run.manifest", False),
        (f"{BUCKET}/Data/*", f"{BUCKET}/data/a.csv", False),  # resources are case-sensitive
        ("arn:aws:sagemaker:*:*:training-job/demo-*", "arn:aws:sagemaker:us-east-1:1:training-job/demo-1", True),
        ("arn:aws:s3:::data.bucket", "arn:aws:s3:::dataxbucket", False),  # a dot is a dot, not any character
        ("*", "arn:aws:ssm:us-east-1:1:parameter/x", True),
    ],
)
def test_resources_match_with_wildcards_and_case(pattern: str, resource: str, matches: bool) -> None:
    assert resource_matches(pattern, resource) is matches


def test_not_action_and_not_resource_apply_to_everything_else() -> None:
    everything_but_delete = {"Effect": "Allow", "NotAction": "s3:DeleteObject", "NotResource": f"{BUCKET}/locked/*"}

    assert evaluate([policy(everything_but_delete)], Request("s3:PutObject", f"{BUCKET}/a")).allowed
    assert not evaluate([policy(everything_but_delete)], Request("s3:DeleteObject", f"{BUCKET}/a")).allowed
    assert not evaluate([policy(everything_but_delete)], Request("s3:PutObject", f"{BUCKET}/locked/a")).allowed


def test_pass_role_is_allowed_only_to_the_service_the_condition_names() -> None:
    statement = allow(
        "iam:PassRole", ROLE, Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    )

    to_sagemaker = Request("iam:PassRole", ROLE, {"iam:PassedToService": "sagemaker.amazonaws.com"})
    to_lambda = Request("iam:PassRole", ROLE, {"iam:PassedToService": "lambda.amazonaws.com"})

    assert evaluate([policy(statement)], to_sagemaker).allowed
    assert evaluate([policy(statement)], to_lambda).effect is Effect.IMPLICIT_DENY  # not an explicit deny


def test_a_listing_is_allowed_only_under_the_prefixes_the_condition_names() -> None:
    statement = allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": ["data/demo/*", "manifests/*"]}})

    def listing(prefix: str) -> Request:
        return Request("s3:ListBucket", BUCKET, {"s3:prefix": prefix})

    assert evaluate([policy(statement)], listing("data/demo/2026-12-04.csv")).allowed
    assert evaluate([policy(statement)], listing("manifests/run.manifest")).allowed
    assert not evaluate([policy(statement)], listing("models/")).allowed


def test_a_deny_on_insecure_transport_denies_only_plain_http() -> None:
    statement = deny("s3:*", [BUCKET, f"{BUCKET}/*"], Condition={"Bool": {"aws:SecureTransport": False}})
    policies = [policy(allow("s3:GetObject", f"{BUCKET}/*")), policy(statement)]

    https = Request("s3:GetObject", f"{BUCKET}/a", {"aws:SecureTransport": "true"})
    http = Request("s3:GetObject", f"{BUCKET}/a", {"aws:SecureTransport": "false"})

    assert evaluate(policies, https).allowed
    assert evaluate(policies, http).effect is Effect.EXPLICIT_DENY


def test_conditions_are_all_required_and_a_keys_values_are_alternatives() -> None:
    statement = allow(
        "sagemaker:CreateTrainingJob",
        "*",
        Condition={
            "StringEquals": {"aws:RequestTag/pipeline": ["demo", "churn"]},
            "StringLike": {"sagemaker:InstanceTypes": "ml.m5.*"},
        },
    )

    def create(pipeline: str, instance: str) -> Request:
        return Request(
            "sagemaker:CreateTrainingJob",
            "arn:x",
            {"aws:RequestTag/pipeline": pipeline, "sagemaker:InstanceTypes": instance},
        )

    assert evaluate([policy(statement)], create("churn", "ml.m5.large")).allowed
    assert not evaluate([policy(statement)], create("other", "ml.m5.large")).allowed
    assert not evaluate([policy(statement)], create("demo", "ml.p3.2xlarge")).allowed


@pytest.mark.parametrize(
    ("operator", "expected", "actual", "holds"),
    [
        ("StringEquals", ["a"], None, False),  # a missing key never equals
        ("StringNotEquals", ["a"], None, True),  # ... and is never equal, so a negated operator holds
        ("StringEqualsIfExists", ["a"], None, True),
        ("StringEqualsIfExists", ["a"], ["b"], False),
        ("Null", ["true"], None, True),
        ("Null", ["false"], None, False),
        ("Null", ["false"], ["x"], True),
        ("StringNotEquals", ["a", "b"], ["b"], False),  # negated: the value must match none of the listed
        ("StringNotEquals", ["a", "b"], ["c"], True),
        ("StringEqualsIgnoreCase", ["Demo"], ["dEMO"], True),
        ("NumericLessThanEquals", ["3600"], ["3600"], True),
        ("NumericGreaterThan", ["10"], ["9.5"], False),
        ("NumericEquals", ["10"], ["ten"], False),  # what does not parse never matches
        ("DateLessThan", ["2027-01-01T00:00:00Z"], ["2026-12-04T18:00:00Z"], True),
        ("IpAddress", ["10.0.0.0/8"], ["10.1.2.3"], True),
        ("NotIpAddress", ["10.0.0.0/8"], ["192.168.0.1"], True),
        (
            "ArnLike",
            ["arn:aws:states:*:123456789012:stateMachine:*"],
            ["arn:aws:states:us-east-1:123456789012:stateMachine:sm"],
            True,
        ),
        (
            "ArnLike",
            ["arn:aws:states:*:123456789012:stateMachine:*"],
            ["arn:aws:states:us-east-1:999999999999:stateMachine:sm"],
            False,
        ),
        ("ArnEquals", ["arn:aws:s3:::b"], ["not-an-arn"], False),
        ("ForAllValues:StringEquals", ["a", "b"], ["a", "b"], True),
        ("ForAllValues:StringEquals", ["a", "b"], ["a", "c"], False),
        ("ForAllValues:StringEquals", ["a"], None, True),  # an empty set: true for all
        ("ForAnyValue:StringEquals", ["a"], ["c", "a"], True),
        ("ForAnyValue:StringEquals", ["a"], None, False),
    ],
)
def test_condition_operators_as_iam_defines_them(
    operator: str, expected: list[str], actual: list[str] | None, holds: bool
) -> None:
    assert condition_holds(operator, expected, actual) is holds


def test_an_operator_iam_does_not_have_is_an_error_naming_it() -> None:
    with pytest.raises(UnknownOperatorError, match="'StringSortOf'"):
        condition_holds("StringSortOf", ["a"], ["a"])


def test_condition_keys_compare_without_case() -> None:
    statement = allow("ssm:PutParameter", "*", Condition={"StringEquals": {"AWS:RequestedRegion": "us-east-1"}})

    assert evaluate([policy(statement)], Request("ssm:PutParameter", "p", {"aws:requestedregion": "us-east-1"})).allowed


def test_a_key_known_to_be_absent_is_judged_not_reported() -> None:
    statement = allow("sagemaker:DeleteModel", "*", Condition={"StringEquals": {"aws:ResourceTag/pipeline": "demo"}})
    untagged = Request("sagemaker:DeleteModel", "arn:model", absent=frozenset({"aws:ResourceTag/pipeline"}))

    decision = evaluate([policy(statement)], untagged)

    assert decision.effect is Effect.IMPLICIT_DENY
    assert decision.unchecked == frozenset()


def test_a_key_the_request_cannot_tell_is_reported_and_never_denies() -> None:
    # GIVEN an allow and a deny that both hinge on a key the local runtime does not know
    allowing = allow("kms:Decrypt", "*", Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})
    denying = deny("kms:Decrypt", "*", Condition={"StringNotEquals": {"kms:EncryptionContext:stage": "prod"}})

    # WHEN a request without them is evaluated
    decision = evaluate([policy(allowing), policy(denying)], Request("kms:Decrypt", "arn:key"))

    # THEN the allow counts, the deny does not, and both keys are named as not checked
    assert decision.allowed
    assert decision.unchecked == {"kms:ViaService", "kms:EncryptionContext:stage"}


def test_a_policy_variable_is_substituted_from_the_request() -> None:
    statement = allow("s3:GetObject", "*", Condition={"StringLike": {"s3:prefix": "home/${aws:username}/*"}})

    alice = Request("s3:GetObject", "o", {"s3:prefix": "home/alice/a", "aws:username": "alice"})
    mallory = Request("s3:GetObject", "o", {"s3:prefix": "home/alice/a", "aws:username": "mallory"})

    assert evaluate([policy(statement)], alice).allowed
    assert not evaluate([policy(statement)], mallory).allowed


def test_a_single_statement_object_and_string_elements_are_read_as_lists() -> None:
    document = NamedPolicy("p", {"Statement": {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}})

    assert evaluate([document], Request("ssm:GetParameter", "arn:aws:ssm:us-east-1:1:parameter/w")).allowed
