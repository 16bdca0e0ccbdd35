"""What the IAM mappings ask of the local AWS's state, answered from moto's backends (this process's).

- SageMaker tags: moto keeps them on each resource object (`.tags`, a list of `{"Key", "Value"}`), models,
  endpoint configs, endpoints and jobs in dicts by name, model packages by ARN, groups by name
  (moto/sagemaker/models.py, `_get_resource_from_arn`, `add_tags`);
- secrets: moto's SecretsStore finds a secret by name, full ARN or partial ARN;
- task tokens: the callback pool of each running execution of moto's Step Functions interpreter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local_runtime.iam.operations import Lookups


def moto_lookups() -> Lookups:
    """Lookups answered from moto's in-process backends."""
    return Lookups(
        sagemaker_tags=sagemaker_tags,
        model_package_versions=model_package_versions,
        secret_arn=secret_arn,
        task_token_state_machine=task_token_state_machine,
    )


def _sagemaker(account: str, region: str) -> Any:
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[account][region]


def sagemaker_tags(account: str, region: str, arn: str) -> Mapping[str, str] | None:
    """The resource's tags, None when moto has no such resource (or keeps no resources of its type)."""
    backend = _sagemaker(account, region)
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    if kind == "model-package":
        # moto lower-cases the group's name in a version's ARN (its CreateModelPackage)
        resource = backend.model_packages.get(arn) or backend.model_packages.get(arn.lower())
    else:
        stores = {
            "model": backend._models,
            "endpoint": backend.endpoints,
            "endpoint-config": backend.endpoint_configs,
            "training-job": backend.training_jobs,
            "transform-job": backend.transform_jobs,
            "processing-job": backend.processing_jobs,
            "model-package-group": backend.model_package_groups,
        }
        resource = stores[kind].get(name) if kind in stores else None
    if resource is None:
        return None
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in getattr(resource, "tags", None) or []}


def model_package_versions(account: str, region: str, group: str) -> int:
    """How many versions moto holds in the group (0 when there is no such group)."""
    packages = _sagemaker(account, region).model_packages.values()
    return sum(1 for package in packages if getattr(package, "model_package_group_name", None) == group)


def secret_arn(account: str, region: str, secret_id: str) -> str | None:
    from moto.secretsmanager.models import secretsmanager_backends

    secret = secretsmanager_backends[account][region].secrets.get(secret_id)
    return None if secret is None else str(secret.arn)


def task_token_state_machine(account: str, region: str, token: str) -> str | None:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    for state_machine in stepfunctions_parser_backends[account][region].state_machines:
        for execution in state_machine.executions:
            worker = getattr(execution, "exec_worker", None)
            pool = getattr(getattr(worker, "env", None), "callback_pool_manager", None)
            if pool is not None and pool.get(token) is not None:
                return str(execution.state_machine_arn)
    return None
