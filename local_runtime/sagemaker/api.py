"""What the local AWS server needs from a SageMaker emulator, and how the emulator reports API errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from local_runtime.iam.principals import Principals


# An S3 client of the local AWS for (region, execution role ARN): signed by SageMaker's session of that role, or by
# the account when the role is None. A job reads and writes S3 with the role it names, an endpoint with its model's.
S3ClientFactory = Callable[[str, "str | None"], Any]


class SageMakerApiError(Exception):
    """An error answered the way SageMaker's JSON protocol does: `{"__type": code, "message": ...}`."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class InvocationResponse:
    status: int
    body: bytes
    content_type: str


class SageMakerEmulator(Protocol):
    """Hooks the server calls around moto, which keeps storing, describing, listing and tagging resources."""

    def bind(self, endpoint_url: str, *, principals: Principals | None = None) -> None:
        """Learn where the local AWS listens, before the first request; workers call S3 there, signed by sessions
        of the execution role a job or model names, issued by `principals` (without them, as the account)."""
        ...

    def handles(self, action: str) -> bool:
        """True for actions the emulator answers instead of moto (e.g. UpdateEndpoint, StopTrainingJob)."""
        ...

    def handle(self, action: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """Answer an action moto lacks; raise SageMakerApiError to reject it."""
        ...

    def after(self, action: str, region: str, params: dict[str, Any]) -> None:
        """React to an action moto accepted (CreateTrainingJob starts a worker, CreateEndpoint a server...)."""
        ...

    def invoke_endpoint(
        self, region: str, endpoint_name: str, body: bytes, content_type: str, accept: str
    ) -> InvocationResponse:
        """sagemaker-runtime InvokeEndpoint."""
        ...

    def shutdown(self) -> None:
        """Stop every worker."""
        ...
