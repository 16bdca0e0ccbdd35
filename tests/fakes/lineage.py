"""A SageMaker client with lineage: moto's SageMaker plus the local runtime's lineage store (moto has none)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from local_runtime.sagemaker.api import SageMakerApiError
from local_runtime.sagemaker.lineage import LineageStore


class LineageClient:
    """Lineage calls go to a LineageStore, raising ClientError as boto3 does; everything else to `sagemaker`."""

    def __init__(self, sagemaker: Any = None, *, store: LineageStore | None = None, region: str = "us-east-1") -> None:
        self.store = store or LineageStore()
        self._sagemaker, self._region = sagemaker, region
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        action = "".join(part.title() for part in name.split("_"))
        if not self.store.handles(action):
            return getattr(self._sagemaker, name)

        def call(**params: Any) -> dict[str, Any]:
            self.calls.append(action)
            try:
                return self.store.handle(action, self._region, params)
            except SageMakerApiError as error:
                raise ClientError(
                    {
                        "Error": {"Code": error.code, "Message": error.message},
                        "ResponseMetadata": {"HTTPStatusCode": error.status},
                    },
                    action,
                ) from None

        return call
