"""The endpoint's `serverless` section: a ServerlessConfig variant instead of instances, and what it cannot go with.

SageMaker's limits (API reference, ProductionVariantServerlessConfig): MemorySizeInMB is 1024 to 6144 "in 1 GB
increments"; MaxConcurrency 1 to 200; ProvisionedConcurrency 1 to 200 and "less than or equal to MaxConcurrency".

What a serverless variant does not support (Developer Guide, Serverless Inference, "Feature exclusions"): GPUs,
AWS Marketplace model packages, private Docker registries, multi-model endpoints, KMS keys, VPC configuration,
network isolation, data capture, multiple production variants, Model Monitor and inference pipelines. Of these this
project configures only the inference pipeline (its `preprocessing` section serves as a serial pipeline model), so
that one is refused at synth; the endpoint is always one variant, and none of the others is a setting here.
Deployment guardrails (Developer Guide, Deployment guardrails, "Exclusions") exclude serverless endpoints from
rolling deployments only: blue/green updates with all-at-once, canary or linear traffic shifting and auto-rollback
alarms, which is what the `rollout` section asks for, are allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, model_validator

from stacks.config.errors import FieldError
from stacks.config.fields import Section

SERVERLESS_MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
SERVERLESS_MAX_CONCURRENCY = 200
# Instance settings a serverless variant has no use for: given together with `serverless`, they are refused
# rather than silently ignored, so nobody believes the endpoint runs on the instance type they wrote.
INSTANCE_FIELDS = ("instance_type", "instance_count")
_Concurrency = Annotated[StrictInt, Field(ge=1, le=SERVERLESS_MAX_CONCURRENCY)]


class ServerlessConfig(Section):
    """A serverless endpoint: SageMaker starts compute on invocation and scales to zero when idle."""

    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144]
    # invocations beyond it are throttled
    max_concurrency: _Concurrency
    # warm capacity kept ready (and billed) so the first invocations start without a cold start; null: none
    provisioned_concurrency: _Concurrency | None = None

    @model_validator(mode="after")
    def _provisioned_within_the_maximum(self) -> ServerlessConfig:
        provisioned = self.provisioned_concurrency
        if provisioned is not None and provisioned > self.max_concurrency:
            raise FieldError(
                "provisioned_concurrency",
                lambda label: (
                    f"({provisioned}) must not be larger than {label('max_concurrency')} ({self.max_concurrency}): "
                    "SageMaker keeps at most MaxConcurrency invocations ready"
                ),
            )
        return self

    def variant_config(self) -> dict[str, int]:
        """The variant's ServerlessConfig as CreateEndpointConfig takes it."""
        config = {"MemorySizeInMB": self.memory_size_mb, "MaxConcurrency": self.max_concurrency}
        if self.provisioned_concurrency is not None:
            config["ProvisionedConcurrency"] = self.provisioned_concurrency
        return config


def refuse_instance_fields(endpoint: Any) -> Any:
    """A raw endpoint section as it is, unless it gives both `serverless` and instance settings: raise FieldError."""
    if not isinstance(endpoint, Mapping) or endpoint.get("serverless") is None:
        return endpoint
    given = [key for key in INSTANCE_FIELDS if endpoint.get(key) is not None]
    if given:
        raise FieldError(
            given[0],
            "has no effect on a serverless endpoint (SageMaker picks its compute from serverless.memory_size_mb): "
            f"remove {' and '.join(given)}, or remove serverless to run on instances",
        )
    return endpoint
