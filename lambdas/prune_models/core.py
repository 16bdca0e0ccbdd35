"""PruneModels: after a deployment, delete the pipeline's old SageMaker models and endpoint configs.

The rule: of the models and endpoint configs this pipeline's runs created (name "<pipeline>-..." and the
pipeline tag the runs put on them), the newest `keep_last` of each kind stay, and so does, whatever its age,
every one that is
- the endpoint's current config, or the config of a deployment in progress (PendingDeploymentSummary),
  and the models those configs serve;
- this run's own deployment;
- the previous deployment, the one a person rolls back to: the newest earlier watermark version that records
  a deployed config (SSM keeps the parameter's last 100 versions).
Everything else of the pipeline's is deleted, each config before its model (they share the run's name), and
a model is kept while a config of the same name stays. Model packages (the registry) and the S3 artifacts are
never touched: a deleted model can be created again from either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from contract.names import PIPELINE_TAG
from lambdas.common import env as names
from lambdas.common.models import DeploymentState, PrunedState, WatermarkState
from lambdas.common.names import run_resource_prefix
from lambdas.common.sagemaker import describe_or_none, is_not_found

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_ssm import SSMClient
    from types_boto3_ssm.type_defs import ParameterHistoryTypeDef

# The most ListModels and ListEndpointConfigs return per page.
LIST_PAGE_SIZE = 100
KEEP_LAST_MIN = 2

# Why a resource stays, in the order a report names the first that applies.
SERVING = "the endpoint's current config"
PENDING = "the endpoint is switching to it"
THIS_RUN = "deployed by this run"
PREVIOUS = "the previous deployment, kept for a rollback"
NEWEST = "among the newest {keep_last}"
UNKNOWN_CONFIG = "the endpoint serves config {config}, not a run's: its models are unknown, no model is deleted"


@dataclass(frozen=True)
class PruneSettings:
    pipeline: str
    endpoint_name: str
    watermark_parameter: str
    keep_last: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PruneSettings:
        return cls(
            pipeline=names.require_str(env, names.PIPELINE_NAME),
            endpoint_name=names.require_str(env, names.ENDPOINT_NAME),
            watermark_parameter=names.require_str(env, names.WATERMARK_PARAMETER),
            keep_last=names.require_int(env, names.KEEP_LAST, minimum=KEEP_LAST_MIN),
        )


@dataclass(frozen=True)
class _Owned:
    name: str
    created: datetime


def prune_models(
    deployment: DeploymentState | None,
    watermark: WatermarkState | None,
    *,
    sagemaker: SageMakerClient,
    ssm: SSMClient,
    settings: PruneSettings,
    page_size: int = LIST_PAGE_SIZE,
) -> PrunedState:
    """Delete the pipeline's models and endpoint configs outside the newest `keep_last` and the protected ones.

    Everything that decides what stays is read before the first deletion, so a failed read deletes nothing.
    Safe to retry: a resource already gone is skipped. Raises ClientError when SageMaker or SSM refuse a call;
    the state machine catches it, since a run whose model serves must not fail over housekeeping.
    """
    report = PrunedState(keep_last=settings.keep_last)
    protected: dict[str, str] = {}
    endpoint = describe_or_none(lambda: sagemaker.describe_endpoint(EndpointName=settings.endpoint_name))
    serving = (endpoint or {}).get("EndpointConfigName")
    pending = ((endpoint or {}).get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    this_run = deployment.endpoint_config_name if deployment is not None else None
    current = watermark.version if watermark is not None else None
    previous = _previous_deployment(ssm, settings.watermark_parameter, current, exclude={this_run, serving})
    for name, why in ((serving, SERVING), (pending, PENDING), (this_run, THIS_RUN), (previous, PREVIOUS)):
        if name:
            protected.setdefault(str(name), why)

    prefix = run_resource_prefix(settings.pipeline)
    protected_models, models_known = _models_of(sagemaker, [n for n in (serving, pending) if n], prefix)
    if deployment is not None and deployment.model_name:
        protected_models.setdefault(deployment.model_name, THIS_RUN)

    listing = {"NameContains": prefix, "PaginationConfig": {"PageSize": page_size}}
    config_pages = sagemaker.get_paginator("list_endpoint_configs").paginate(**listing)  # type: ignore[arg-type]
    model_pages = sagemaker.get_paginator("list_models").paginate(**listing)  # type: ignore[arg-type]
    configs = _owned(sagemaker, _listed(config_pages, "EndpointConfigs", prefix), "EndpointConfig", settings.pipeline)
    models = _owned(sagemaker, _listed(model_pages, "Models", prefix), "Model", settings.pipeline)

    remaining_configs: set[str] = set()
    for position, config in enumerate(configs):
        reason = _keep_reason(config.name, position, protected, settings.keep_last)
        if reason is not None:
            report.kept[config.name] = reason
            remaining_configs.add(config.name)
        elif _delete(lambda name=config.name: sagemaker.delete_endpoint_config(EndpointConfigName=name)):
            report.deleted_endpoint_configs.append(config.name)

    for position, model in enumerate(models):
        reason = _keep_reason(model.name, position, {**protected_models, **protected}, settings.keep_last)
        if reason is None and model.name in remaining_configs:
            reason = report.kept[model.name]
        if reason is None and not models_known:
            reason = UNKNOWN_CONFIG.format(config=serving)
        if reason is not None:
            report.kept.setdefault(model.name, reason)
        elif _delete(lambda name=model.name: sagemaker.delete_model(ModelName=name)):
            report.deleted_models.append(model.name)
    return report


def _keep_reason(name: str, position: int, protected: Mapping[str, str], keep_last: int) -> str | None:
    if name in protected:
        return protected[name]
    return NEWEST.format(keep_last=keep_last) if position < keep_last else None


def _previous_deployment(ssm: SSMClient, parameter: str, current: int | None, *, exclude: set[Any]) -> str | None:
    """The config of the newest earlier watermark version that records a deployment other than `exclude`.

    Versions are read from before `current`, the one this run wrote (state.watermark.version), so a later run can
    never make this one forget what it replaced. A version whose outcome is not "deployed" (a rejected model) or
    that names no config (the initial value) is skipped.
    """
    history: list[ParameterHistoryTypeDef] = []
    try:
        for page in ssm.get_paginator("get_parameter_history").paginate(Name=parameter):
            history.extend(page.get("Parameters", []))
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise
    for version in sorted(history, key=lambda item: int(item.get("Version", 0)), reverse=True):
        if current is not None and int(version.get("Version", 0)) >= current:
            continue
        try:
            value = json.loads(version.get("Value", ""))
        except ValueError:
            continue
        if not isinstance(value, Mapping) or value.get("outcome", "deployed") != "deployed":
            continue
        config = value.get("endpoint_config_name")
        if config and config not in exclude:
            return str(config)
    return None


def _models_of(sagemaker: SageMakerClient, config_names: Iterable[str], prefix: str) -> tuple[dict[str, str], bool]:
    """The models the given configs serve, and whether all of them could be read.

    The function may describe the pipeline's own configs only: a config of another name (set by hand) is not
    read, and the caller then deletes no model at all rather than guess which ones it serves.
    """
    models: dict[str, str] = {}
    known = True
    for name in config_names:
        if not name.startswith(prefix):
            known = False
            continue
        config = describe_or_none(lambda name=name: sagemaker.describe_endpoint_config(EndpointConfigName=name))
        variants = [*(config or {}).get("ProductionVariants", []), *(config or {}).get("ShadowProductionVariants", [])]
        for variant in variants:
            if variant.get("ModelName"):
                models.setdefault(str(variant["ModelName"]), f"served by endpoint config {name}")
    return models, known


def _listed(pages: Iterable[Mapping[str, Any]], key: str, prefix: str) -> list[dict[str, Any]]:
    """The listed resources (page[key]) whose name starts with the pipeline's prefix."""
    items: list[dict[str, Any]] = []
    for page in pages:
        items.extend(item for item in page.get(key, []) if str(item[f"{key[:-1]}Name"]).startswith(prefix))
    return items


def _owned(sagemaker: SageMakerClient, items: list[dict[str, Any]], kind: str, pipeline: str) -> list[_Owned]:
    """The listed resources whose pipeline tag names this pipeline, newest first.

    The name prefix alone is not proof: another app's pipeline, or a hand-made model, may share it.
    """
    owned = []
    for item in items:
        try:
            tags = sagemaker.list_tags(ResourceArn=item[f"{kind}Arn"]).get("Tags", [])
        except ClientError as error:
            if is_not_found(error):
                continue  # deleted since it was listed
            raise
        if any(tag["Key"] == PIPELINE_TAG and tag["Value"] == pipeline for tag in tags):
            owned.append(_Owned(name=str(item[f"{kind}Name"]), created=item["CreationTime"]))
    # Names carry the run's start time, so they break ties between resources created in the same instant.
    return sorted(owned, key=lambda resource: (resource.created, resource.name), reverse=True)


def _delete(call: Any) -> bool:
    """Delete; False when the resource was already gone (a retried attempt, or someone else)."""
    try:
        call()
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return True
