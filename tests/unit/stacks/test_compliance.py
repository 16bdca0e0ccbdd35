"""Compliance as code: zero unsuppressed cdk-nag findings, narrow suppressions, cfn-lint and checkov clean."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from cdk_nag import AwsSolutionsChecks, NagPack, NIST80053R5Checks
from cfnlint.api import ManualArgs, lint_file
from constructs import Construct, IConstruct

from stacks.compliance import CHECKOV_METADATA_KEY, skip_checkov
from stacks.paths import PROJECT_ROOT
from tests.unit.stacks.conftest import PIPELINES, Synthesized

# Lint as the regions the stacks deploy to would: commercial, China and GovCloud partitions.
LINT_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]
# W3005 "dependency already enforced by a GetAtt": CDK adds an explicit DependsOn on a function's (or the
# state machine's) role next to the GetAtt of its ARN, to order the role's DefaultPolicy before the resource.
# The duplicate is harmless to CloudFormation; it is the only finding tolerated.
TOLERATED_CFN_LINT_RULES = {"W3005"}
NAG_PACKS = [AwsSolutionsChecks, NIST80053R5Checks]
NAG_RULE_PREFIXES = ("AwsSolutions-", "NIST.800.53.R5-")

# checkov runs from its own virtualenv (`make test` creates it from requirements-scan.lock).
CHECKOV = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
# The checks skipped somewhere, each with its reason next to the resource (stacks/compliance.py's skip_checkov).
# A new kind of skip must be added here too, so that it is reviewed rather than slipped in.
REVIEWED_CHECKOV_SKIPS = {
    "CKV_AWS_18",  # S3 access logging, on the bucket that receives the access logs
    "CKV_AWS_115",  # Lambda reserved concurrency
    "CKV_AWS_116",  # Lambda dead-letter queue, for asynchronous invocations only
    "CKV_AWS_117",  # Lambda in a VPC
    "CKV_AWS_173",  # Lambda environment encrypted with a customer managed key
}


@pytest.mark.reliability(
    "scan",
    "cdk-nag AwsSolutions and NIST 800-53 rev 5 packs on every stack",
    "Zero unsuppressed findings; each suppression is scoped to one rule on one resource with its reason",
)
@pytest.mark.parametrize("pack", NAG_PACKS, ids=lambda pack: pack.__name__)
def test_cdk_nag_reports_no_unsuppressed_finding(synthesized: Synthesized, pack: type[NagPack]) -> None:
    report = pack().validate_scope(synthesized.app)

    findings = [
        f"{violation.rule_name} ({violation.severity}) at {resource.construct_path}: {violation.description}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    assert report.success, "\n".join(findings)


def test_synth_reports_no_error_or_warning(synthesized: Synthesized) -> None:
    messages = [
        f"{stack.stack_name} {message.id}: {message.level.value} {message.entry.data}"
        for stack in synthesized.assembly.stacks
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


def test_each_suppression_is_scoped_to_one_finding_on_one_resource(synthesized: Synthesized) -> None:
    found = list(acknowledgments(synthesized.app))

    assert {finding.split("-", 1)[0] for _, finding, _ in found} == {"AwsSolutions", "NIST.800.53.R5"}
    for path, finding, reason in found:
        # next to its resource: never on the app or a whole stack
        assert path.count("/") >= 2, (path, finding)
        # one rule of a registered pack, and for the granular IAM rules one finding of it
        assert finding.startswith(NAG_RULE_PREFIXES), finding
        if finding.startswith(("AwsSolutions-IAM4", "AwsSolutions-IAM5")):
            assert finding.endswith("]"), finding
            assert "[Resource::" in finding or "[Action::" in finding, finding
        # with a reason a reviewer can check
        assert len(reason) >= 60, (path, finding, reason)


def test_no_action_wildcard_is_acknowledged(synthesized: Synthesized) -> None:
    assert not [finding for _, finding, _ in acknowledgments(synthesized.app) if "[Action::" in finding]


@pytest.mark.reliability(
    "scan",
    "cfn-lint on every template, in several regions",
    "Zero errors",
)
def test_templates_pass_cfn_lint(synthesized: Synthesized) -> None:
    templates = synthesized.template_paths

    assert len(templates) == len(PIPELINES)
    problems = [
        f"{template.name}: {match.rule.id} {match.message} at {'/'.join(map(str, match.path))}"
        for template in templates
        for match in lint_file(template, config=ManualArgs(regions=LINT_REGIONS))
        if match.rule.id not in TOLERATED_CFN_LINT_RULES
    ]
    assert not problems, "\n".join(problems)


# checkov


def run_checkov(templates: list[Path]) -> dict[str, Any]:
    """checkov's JSON report on CloudFormation templates (offline: nothing downloaded, nothing uploaded)."""
    files = [argument for template in templates for argument in ("--file", str(template))]
    completed = subprocess.run(
        [str(CHECKOV), *files, "--framework", "cloudformation", "--output", "json", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # checkov exits 1 when a check fails; anything else but 0 is a crash.
    assert completed.returncode in (0, 1), completed.stderr
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


@pytest.fixture(scope="module")
def checkov_report(synthesized: Synthesized) -> dict[str, Any]:
    if not CHECKOV.exists():
        message = f"{CHECKOV} is missing: `make test` (or `make .venv-checkov/.installed`) installs it"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must really run the scan
        pytest.skip(message)
    return run_checkov(synthesized.template_paths)


def test_checkov_scans_every_resource_of_every_template(
    synthesized: Synthesized, checkov_report: dict[str, Any]
) -> None:
    summary = checkov_report["summary"]
    resources = sum(len(template["Resources"]) for template in synthesized.templates.values())

    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] == resources
    assert summary["passed"] > 100


@pytest.mark.reliability(
    "scan",
    "checkov on the synthesized templates",
    "Zero failed checks",
)
def test_checkov_reports_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{check['check_id']} {check['check_name']}: {check['resource']} in {Path(check['file_path']).name}"
        for check in checkov_report["results"]["failed_checks"]
    ]

    assert not failed, "\n".join(failed)


@pytest.mark.reliability(
    "scan",
    "checkov skips",
    "Only reviewed check ids are skipped, each in its resource's Metadata with its reason",
)
def test_checkov_skips_only_reviewed_checks_each_with_its_reason(checkov_report: dict[str, Any]) -> None:
    skipped = checkov_report["results"]["skipped_checks"]

    assert {check["check_id"] for check in skipped} == REVIEWED_CHECKOV_SKIPS
    for check in skipped:
        assert len(check["check_result"].get("suppress_comment", "")) >= 60, (check["check_id"], check["resource"])


def test_checkov_skips_sit_in_each_resources_metadata_with_their_reason(synthesized: Synthesized) -> None:
    functions = [
        resource
        for template in synthesized.templates.values()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]

    # Sixteen steps, the StatusChangeListener and RunEnded per stack, churn's ApprovalListener (it waits for a person's
    # approval) and demo's TriggerRun.
    assert len(functions) == 3 * 18 + 2
    for function in functions:
        skips = function["Metadata"][CHECKOV_METADATA_KEY]["skip"]
        # A function with reserved concurrency (TriggerRun) meets CKV_AWS_115 instead of skipping it.
        reserved = "ReservedConcurrentExecutions" in function["Properties"]
        concurrency = [] if reserved else ["CKV_AWS_115"]
        assert [skip["id"] for skip in skips] == [*concurrency, "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"]
        assert all(len(skip["comment"]) >= 60 for skip in skips)
    assert sum("ReservedConcurrentExecutions" in function["Properties"] for function in functions) == 1


def test_a_checkov_skip_needs_a_cloudformation_resource() -> None:
    stack = Stack(App(), "Stack")

    with pytest.raises(TypeError, match="no CloudFormation resource to skip CKV_AWS_1 on"):
        skip_checkov(Construct(stack, "Empty"), "CKV_AWS_1", "a reason long enough to be read by a reviewer")
