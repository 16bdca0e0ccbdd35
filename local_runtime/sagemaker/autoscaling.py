"""SageMaker and Application Auto Scaling together, as documented: moto's applicationautoscaling backend holds the
scalable targets and policies; this module makes SageMaker's endpoints obey them.

- UpdateEndpoint that would change the instance type of a variant registered as a scalable target fails: "If the
  update would change the instance type for any model that is a target for auto scaling, the update fails ... If
  you are trying to update the endpoint by calling the UpdateEndpoint API, the call fails" (SageMaker Developer
  Guide, "Update endpoints that use auto scaling"). A model change alone is allowed (same page). The error's code
  and wording are this emulator's: the guide gives neither.
- UpdateEndpoint with RetainAllVariantProperties keeps each same-named variant's DesiredInstanceCount and
  DesiredWeight from DescribeEndpoint, but those ExcludeRetainedVariantProperties names (UpdateEndpoint and
  VariantProperty API references).
- RegisterScalableTarget moves an active resource's capacity into the new range: "If the specified resource is not
  active in the target service, this operation does not change the resource's current capacity. Otherwise, it
  changes the resource's current capacity to a value that is inside of this range" (its API reference). Here the
  variant's instance counts change at once (SageMaker would go through Updating); no scaling policy runs locally.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from moto.applicationautoscaling.models import ApplicationAutoscalingBackend, applicationautoscaling_backends
from moto.sagemaker.models import sagemaker_backends

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# VariantPropertyType values and the DescribeEndpoint fields they retain.
_RETAINED = {
    "DesiredInstanceCount": ("CurrentInstanceCount", "DesiredInstanceCount"),
    "DesiredWeight": ("CurrentWeight", "DesiredWeight"),
}

_installed = False


def scaled_variants(account: str, region: str, endpoint_name: str) -> set[str]:
    """The endpoint's variants registered as scalable targets of their instance count."""
    targets = applicationautoscaling_backends[account][region].targets.get(SCALABLE_DIMENSION, {})
    prefix = f"endpoint/{endpoint_name}/variant/"
    return {resource_id[len(prefix) :] for resource_id in targets if resource_id.startswith(prefix)}


def instance_type_refusal(backend: Any, record: Any, new_config: Any) -> str | None:
    """Why SageMaker refuses updating `record` (moto's endpoint) to `new_config`; None when it does not."""
    scaled = scaled_variants(backend.account_id, backend.region_name, record.endpoint_name)
    current = backend.endpoint_configs.get(record.endpoint_config_name)
    if not scaled or current is None:
        return None
    before = _instance_types(current.production_variants)
    after = _instance_types(new_config.production_variants)
    changed = sorted(name for name in scaled if name in before and before[name] != after.get(name))
    if not changed:
        return None
    return (
        f"The production variant(s) {', '.join(changed)} of endpoint '{record.arn}' are registered as scalable targets "
        "with Application Auto Scaling, and this update changes their instance type. Delete their scaling policies "
        "and deregister them (DeregisterScalableTarget) before the update, and register them again after it."
    )


def retain_variant_properties(
    previous: Sequence[Mapping[str, Any]], new: Sequence[dict[str, Any]], excluded: Sequence[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """`new` (DescribeEndpoint's variants of the new config) with each same-named previous variant's count and
    weight, but those `excluded` (ExcludeRetainedVariantProperties) takes from the new config."""
    overridden = {str(item.get("VariantPropertyType")) for item in excluded}
    kept = {str(variant["VariantName"]): variant for variant in previous}
    variants = []
    for variant in new:
        old = kept.get(str(variant["VariantName"]))
        merged = dict(variant)
        if old is not None:
            for prop, fields in _RETAINED.items():
                if prop not in overridden:
                    merged.update({name: old[name] for name in fields if name in old})
        variants.append(merged)
    return variants


def install() -> None:
    """RegisterScalableTarget moves a SageMaker variant's count into its range; calling it again does nothing."""
    global _installed
    if _installed:
        return
    _installed = True
    original = ApplicationAutoscalingBackend.register_scalable_target

    @functools.wraps(original)
    def register_scalable_target(self: ApplicationAutoscalingBackend, *args: Any, **kwargs: Any) -> Any:
        target = original(self, *args, **kwargs)
        if target.scalable_dimension == SCALABLE_DIMENSION:
            _into_range(self.account_id, self.region_name, target)
        return target

    ApplicationAutoscalingBackend.register_scalable_target = register_scalable_target  # type: ignore[method-assign]


def _into_range(account: str, region: str, target: Any) -> None:
    _, endpoint_name, _, variant_name = str(target.resource_id).split("/", 3)
    record = sagemaker_backends[account][region].endpoints.get(endpoint_name)
    if record is None or record.endpoint_status != "InService":
        return  # not active: its capacity is not changed
    for variant in record.production_variants:
        count = variant.get("DesiredInstanceCount")
        if variant["VariantName"] == variant_name and count is not None:
            inside = min(max(int(count), int(target.min_capacity)), int(target.max_capacity))
            variant["DesiredInstanceCount"] = variant["CurrentInstanceCount"] = inside


def _instance_types(variants: Sequence[Mapping[str, Any]]) -> dict[str, str | None]:
    return {str(v["VariantName"]): v.get("InstanceType") for v in variants}
