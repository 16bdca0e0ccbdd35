"""moto's SageMaker seen mid-change: endpoint states moto passes through at once, as SageMaker reports them."""

from __future__ import annotations

from typing import Any


class EndpointInStatus:
    """Delegates to moto but reports the endpoint in a given status, as SageMaker does during changes."""

    def __init__(self, sagemaker: Any, status: str) -> None:
        self._sagemaker, self._status = sagemaker, status

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sagemaker, name)

    def describe_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        return {**self._sagemaker.describe_endpoint(**kwargs), "EndpointStatus": self._status}


class EndpointUpdating(EndpointInStatus):
    """SageMaker during an update: still showing the old config, the new one as the pending deployment."""

    def __init__(self, sagemaker: Any, old_config: str, new_config: str) -> None:
        super().__init__(sagemaker, "Updating")
        self._old, self._new = old_config, new_config

    def describe_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().describe_endpoint(**kwargs),
            "EndpointConfigName": self._old,
            "PendingDeploymentSummary": {"EndpointConfigName": self._new},
        }
