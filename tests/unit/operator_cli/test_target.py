"""Which pipeline a command talks to: a pipeline with no stack is named, with where it was looked for."""

from __future__ import annotations

import pytest

from operator_cli.target import PipelineNotFoundError, resolve_target, stack_outputs


def test_on_aws_a_pipeline_without_a_stack_is_named_with_the_region(aws: None) -> None:
    # moto's CloudFormation answers as AWS does: ValidationError "Stack with id ... does not exist"
    target = resolve_target(endpoint_url=None, profile=None, region="eu-west-1")

    with pytest.raises(PipelineNotFoundError) as raised:
        stack_outputs(target, "nosuch")

    assert str(raised.value) == "pipeline nosuch not found in AWS (eu-west-1): no stack SageMakerRetraining-nosuch"
