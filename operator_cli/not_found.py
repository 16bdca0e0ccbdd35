"""How AWS answers a Describe or Get call for a resource that does not exist, service by service."""

from __future__ import annotations

from botocore.exceptions import ClientError

# SageMaker: ValidationException "Could not find model ...", "Model package ... not found" (moto), "ModelPackageGroup
# ... does not exist." (as sagemaker-core's resource definitions expect); S3: NoSuchBucket, NoSuchKey, or a bare 404 for
# HeadObject; Step Functions: ExecutionDoesNotExist, StateMachineDoesNotExist.
_CODES = frozenset(
    {"NoSuchBucket", "NoSuchKey", "404", "NotFound", "ExecutionDoesNotExist", "StateMachineDoesNotExist"}
)
_VALIDATION_CODES = frozenset({"ValidationException", "ResourceNotFound"})
_MISSING_WORDS = ("not find", "not found", "does not exist")


def is_not_found(error: ClientError) -> bool:
    """Tell whether the call failed because the resource it names does not exist (not a refusal or a bad request)."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in _CODES:
        return True
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    return code in _VALIDATION_CODES and any(words in message for words in _MISSING_WORDS)
