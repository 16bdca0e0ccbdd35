"""Compliance as code: zero unsuppressed cdk-nag findings, narrow suppressions, and cfn-lint-clean templates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Validations
from aws_cdk.cx_api import CloudAssembly
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file
from constructs import IConstruct

from app import build_app
from tests.unit.stacks.synth import pipeline, synth_context

# Both shapes of a pipeline, so every construct and every conditional branch is checked.
PIPELINES = [
    pipeline(),
    pipeline(
        name="churn",
        data_bucket={"name": "existing-data-bucket"},
        data_prefix="raw/churn",
        algorithm={"image_uri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:2.1"},
        slack={"channel": "#ml-alerts", "token_secret_name": "slack/ml-bot"},
    ),
]
# Lint as the regions the stacks deploy to would: commercial, China and GovCloud partitions.
LINT_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]
# W3005 "dependency already enforced by a GetAtt": CDK adds an explicit DependsOn on a function's (or the
# state machine's) role next to the GetAtt of its ARN, to order the role's DefaultPolicy before the resource.
# The duplicate is harmless to CloudFormation; it is the only finding tolerated.
TOLERATED_CFN_LINT_RULES = {"W3005"}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[App, CloudAssembly]:
    """The app as app.py builds it (cdk-nag registered), synthesized once without bundling."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(synth_context(pipelines=PIPELINES), outdir=str(outdir))
    # Synth runs the registered cdk-nag plugin too, and raises when it reports a finding.
    return app, app.synth()


def test_cdk_nag_reports_no_unsuppressed_finding(synthesized: tuple[App, CloudAssembly]) -> None:
    app, _ = synthesized

    report = AwsSolutionsChecks().validate_scope(app)

    findings = [
        f"{violation.rule_name} ({violation.severity}) at {resource.construct_path}: {violation.description}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    assert report.success, "\n".join(findings)


def test_synth_reports_no_error_or_warning(synthesized: tuple[App, CloudAssembly]) -> None:
    _, assembly = synthesized

    messages = [
        f"{stack.stack_name} {message.id}: {message.level.value} {message.entry.data}"
        for stack in assembly.stacks
        for message in stack.messages
        if message.level.value in ("error", "warning")
    ]
    assert not messages, "\n".join(messages)


def acknowledgments(root: IConstruct) -> Iterator[tuple[str, str, str]]:
    """(construct path, finding id, reason) of every cdk-nag acknowledgment in the tree."""
    for construct in root.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                data: dict[str, Any] = entry.data
                for key, reason in data.items():
                    yield construct.node.path, key.split("::", 1)[-1], reason


def test_each_suppression_is_scoped_to_one_finding_on_one_resource(synthesized: tuple[App, CloudAssembly]) -> None:
    app, _ = synthesized
    found = list(acknowledgments(app))

    assert found
    for path, finding, reason in found:
        # next to its resource: never on the app or a whole stack
        assert path.count("/") >= 2, (path, finding)
        # one rule, and for the granular IAM rules one finding of it
        assert finding.startswith("AwsSolutions-"), finding
        if finding.startswith(("AwsSolutions-IAM4", "AwsSolutions-IAM5")):
            assert finding.endswith("]") and ("[Resource::" in finding or "[Action::" in finding), finding
        # with a reason a reviewer can check
        assert len(reason) >= 60, (path, finding, reason)


def test_no_action_wildcard_is_acknowledged(synthesized: tuple[App, CloudAssembly]) -> None:
    app, _ = synthesized

    assert not [finding for _, finding, _ in acknowledgments(app) if "[Action::" in finding]


def test_templates_pass_cfn_lint(synthesized: tuple[App, CloudAssembly]) -> None:
    _, assembly = synthesized
    templates = [Path(stack.template_full_path) for stack in assembly.stacks]

    assert len(templates) == len(PIPELINES)
    problems = [
        f"{template.name}: {match.rule.id} {match.message} at {'/'.join(map(str, match.path))}"
        for template in templates
        for match in lint_file(template, config=ManualArgs(regions=LINT_REGIONS))
        if match.rule.id not in TOLERATED_CFN_LINT_RULES
    ]
    assert not problems, "\n".join(problems)
