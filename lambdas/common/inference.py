"""The containers a run's model is served with: the algorithm alone, or a serial inference pipeline.

With preprocessing, the fitted artifact of the run's processing job is served in front of the algorithm (raw
record in, features out) and, when configured, behind it (the algorithm's answer back to a readable label).
DeployModel creates the model from these containers and EvaluateModel registers the same ones, so the registry's
version deploys exactly what the endpoint serves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lambdas.common import env as names
from lambdas.common.errors import ConfigurationError, InvalidStepEventError
from lambdas.common.models import PreprocessingState
from lambdas.common.sagemaker import create_if_absent

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker.type_defs import ContainerDefinitionTypeDef, TagTypeDef

# The SageMaker inference toolkit imports SAGEMAKER_PROGRAM from SAGEMAKER_SUBMIT_DIRECTORY; the processing job
# packs the source directory as code/ in model.tar.gz, which SageMaker extracts into /opt/ml/model.
SUBMIT_DIRECTORY = "/opt/ml/model/code"
# An inner container's answer is the next one's request: features go to the algorithm as CSV.
FEATURES_CONTENT_TYPE = "text/csv"
PREPROCESS_HOSTNAME, MODEL_HOSTNAME, POSTPROCESS_HOSTNAME = "preprocess", "model", "postprocess"


@dataclass(frozen=True)
class ServingPreprocessing:
    """The preprocessing's serving side: its image and the scripts of the first and last containers."""

    image: str
    entry_point: str
    postprocess_entry_point: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServingPreprocessing | None:
        """The pipeline's preprocessing, None when it has none; raise ConfigurationError if malformed."""
        raw = names.optional_str(env, names.PREPROCESSING)
        if raw is None:
            return None
        try:
            spec = json.loads(raw)
            return cls(
                image=str(spec["image"]),
                entry_point=str(spec["entry_point"]),
                postprocess_entry_point=spec.get("postprocess_entry_point") or None,
            )
        except (ValueError, TypeError, KeyError) as error:
            raise ConfigurationError(
                f"environment variable {names.PREPROCESSING} must be a JSON object with image and entry_point: {error}"
            ) from None


def model_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The algorithm's container environment (MODEL_ENVIRONMENT), empty when unset; ConfigurationError if malformed.

    A framework's script gets the SageMaker Python SDK's SAGEMAKER_PROGRAM, SAGEMAKER_SUBMIT_DIRECTORY (its
    sourcedir.tar.gz in S3, or the model's code/), SAGEMAKER_CONTAINER_LOG_LEVEL and SAGEMAKER_REGION there.
    """
    if names.optional_str(env, names.MODEL_ENVIRONMENT) is None:
        return {}
    return names.require_json_object(env, names.MODEL_ENVIRONMENT)


def serving_containers(
    fitted: PreprocessingState | None,
    model_artifact: str,
    inference_image: str,
    preprocessing: ServingPreprocessing | None,
    environment: Mapping[str, str] | None = None,
) -> list[ContainerDefinitionTypeDef]:
    """The model's containers in order; one without preprocessing. `fitted` is the run's processing job;
    `environment` the algorithm's container's (none when empty).

    Raises InvalidStepEventError when the pipeline has preprocessing but the run's state has no fitted artifact.
    """
    model: ContainerDefinitionTypeDef = {"Image": inference_image, "ModelDataUrl": model_artifact}
    if environment:
        model["Environment"] = dict(environment)
    if preprocessing is None:
        return [model]
    artifact = fitted.model_artifact if fitted is not None else None
    if not artifact:
        raise InvalidStepEventError(
            "state field 'preprocessing.model_artifact' is missing: the pipeline has preprocessing but this run "
            "fitted none"
        )

    def script(hostname: str, program: str, accept: str | None) -> ContainerDefinitionTypeDef:
        environment = {"SAGEMAKER_PROGRAM": program, "SAGEMAKER_SUBMIT_DIRECTORY": SUBMIT_DIRECTORY}
        if accept is not None:
            environment["SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"] = accept
        return {
            "ContainerHostname": hostname,
            "Image": preprocessing.image,
            "ModelDataUrl": str(artifact),
            "Environment": environment,
        }

    containers = [script(PREPROCESS_HOSTNAME, preprocessing.entry_point, FEATURES_CONTENT_TYPE)]
    containers.append({"ContainerHostname": MODEL_HOSTNAME, **model})
    if preprocessing.postprocess_entry_point:
        containers.append(script(POSTPROCESS_HOSTNAME, preprocessing.postprocess_entry_point, None))
    return containers


def create_model_arguments(containers: list[ContainerDefinitionTypeDef]) -> dict[str, Any]:
    """CreateModel's container arguments: PrimaryContainer for one, a serial pipeline for more."""
    if len(containers) == 1:
        return {"PrimaryContainer": containers[0]}
    return {"Containers": containers, "InferenceExecutionConfig": {"Mode": "Serial"}}


def create_run_model(
    sagemaker: SageMakerClient,
    name: str,
    containers: list[ContainerDefinitionTypeDef],
    *,
    role_arn: str,
    tags: Sequence[TagTypeDef],
) -> None:
    """Create the run's model (named after the run) unless an attempt already did: the held-out evaluation scores
    it before DeployModel serves it, and both create it alike, so whichever comes first, the other adopts it."""
    create_if_absent(
        lambda: sagemaker.describe_model(ModelName=name),
        lambda: sagemaker.create_model(
            ModelName=name, **create_model_arguments(containers), ExecutionRoleArn=role_arn, Tags=list(tags)
        ),
    )
