"""Names of the SageMaker resources a run creates: unique per execution, stable across retries."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from contract.evaluation import CANDIDATE, PRODUCTION
from contract.names import EXECUTION_TAG, PIPELINE_TAG
from lambdas.common.events import Execution

if TYPE_CHECKING:
    from types_boto3_sagemaker.type_defs import TagTypeDef

# SageMaker: training job, model, endpoint config and endpoint names.
SAGEMAKER_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
SAGEMAKER_NAME_MAX_LENGTH = 63
_SUFFIX_LENGTH = 1 + 14 + 1 + 8  # -YYYYMMDDHHMMSS-<hash>
_TAG_VALUE_MAX_LENGTH = 256


def run_resource_name(pipeline: str, execution: Execution) -> str:
    """Name the run's training job, model and endpoint config.

    The timestamp keeps names sortable by run; the hash of the execution ARN makes them unique when two
    executions start in the same second. The same execution always gets the same name, so a retried task
    finds what its first attempt created instead of creating a second one.
    """
    stamp = execution.start_time.strftime("%Y%m%d%H%M%S")
    digest = hashlib.sha256(execution.id.encode()).hexdigest()[:8]
    name = f"{run_resource_prefix(pipeline)}{stamp}-{digest}"
    assert SAGEMAKER_NAME_PATTERN.match(name), name
    return name


# The held-out evaluation's transform jobs: the run's name with the scored model's role.
JOB_ROLES = {CANDIDATE: "new", PRODUCTION: "prod"}
# The evaluation script's processing job, which scores both.
SCRIPT_JOB_ROLE = "eval"


def run_job_name(pipeline: str, execution: Execution, role: str) -> str:
    """Name one of several jobs of a run that share its resource name (the held-out evaluation's two transform
    jobs): the run's name with `-<role>`, the pipeline's part shortened so that the whole fits SageMaker's 63."""
    stem = run_resource_prefix(pipeline)[: SAGEMAKER_NAME_MAX_LENGTH - _SUFFIX_LENGTH - len(role) - 1]
    run_part = run_resource_name(pipeline, execution)[len(run_resource_prefix(pipeline)) :]
    name = f"{stem.rstrip('-') or 'run'}-{run_part}-{role}"
    assert SAGEMAKER_NAME_PATTERN.match(name), name
    return name


def run_resource_prefix(pipeline: str) -> str:
    """The start ("<stem>-") every run resource name of the pipeline shares."""
    stem = re.sub(r"-+", "-", re.sub(r"[^a-zA-Z0-9-]", "-", pipeline)).strip("-")
    stem = stem[: SAGEMAKER_NAME_MAX_LENGTH - _SUFFIX_LENGTH].rstrip("-") or "run"
    return f"{stem}-"


def run_tags(pipeline: str, execution: Execution) -> list[TagTypeDef]:
    """Tags of every SageMaker resource a run creates: which pipeline, and which execution created it."""
    return [
        {"Key": PIPELINE_TAG, "Value": pipeline},
        {"Key": EXECUTION_TAG, "Value": execution_tag_value(execution)},
    ]


def execution_tag_value(execution: Execution) -> str:
    # Tag values hold 256 characters; the end of the ARN (machine and execution names) is what identifies it.
    return execution.id[-_TAG_VALUE_MAX_LENGTH:]
