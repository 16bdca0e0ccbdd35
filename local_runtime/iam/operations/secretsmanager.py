"""Secrets Manager's requests (JSON 1.1, `X-Amz-Target: secretsmanager.<Op>`) as actions on the secret's ARN.

A secret's ARN ends in `-` and six random characters (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-
AbCdEf`), which is why grants name `<name>-??????` (the Secrets Manager User Guide, "Permissions policy examples";
CDK's `Secret.fromSecretNameV2`). A request may name the secret by name or by ARN: IAM evaluates the full ARN
of the secret. A secret that does not exist is evaluated as `secret:<name>` without a suffix (which a `-??????`
grant does not match: AWS answers AccessDenied rather than ResourceNotFound when the caller may not read what it
names, jenkinsci/aws-secrets-manager-credentials-provider-plugin PR 65).

AWS's denials name the secret as the caller gave it: `... on resource: sharepoint_account because no identity-based
policy allows the secretsmanager:GetSecretValue action` (nautobot/nautobot-app-secrets-providers issue 64), the
full ARN when given one (binbashar/le-tf-infra-aws PR 874). `secretsmanager:SecretId` is the id as given.
"""

from __future__ import annotations

from local_runtime.iam.operations.base import (
    Environ,
    Lookups,
    Operation,
    json_body,
    request,
    tag_list,
    with_request_tags,
)

SERVICE = "secretsmanager"
_BY_SECRET_ID = frozenset(
    {"GetSecretValue", "DescribeSecret", "PutSecretValue", "UpdateSecret", "DeleteSecret", "RestoreSecret"}
    | {"GetResourcePolicy", "PutResourcePolicy", "DeleteResourcePolicy", "ListSecretVersionIds", "RotateSecret"}
    | {"CancelRotateSecret", "UpdateSecretVersionStage", "TagResource", "UntagResource"}
)
_ANY_RESOURCE = frozenset({"ListSecrets", "GetRandomPassword", "BatchGetSecretValue"})


def operation(operation: str, region: str, account: str, environ: Environ, lookups: Lookups) -> Operation:
    """The `secretsmanager:` action of a request, on the full ARN of the secret it names."""
    action = f"secretsmanager:{operation}"
    if operation in _ANY_RESOURCE:
        return Operation(SERVICE, operation, (request(action, "*"),))
    body = json_body(environ)
    if body is None:
        return Operation(SERVICE, operation, None)
    if operation == "CreateSecret":
        name = str(body.get("Name", ""))
        # The suffix is drawn when the secret is created: `??????` stands for it (a `-??????` or `-*` grant allows).
        arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-??????"
        created = request(action, arn, {"secretsmanager:Name": name}, named=name)
        return Operation(SERVICE, operation, (with_request_tags(created, tag_list(body.get("Tags"))),))
    if operation not in _BY_SECRET_ID or lookups.secret_arn is None:
        return Operation(SERVICE, operation, None)
    secret_id = str(body.get("SecretId", ""))
    arn = lookups.secret_arn(account, region, secret_id) or (
        secret_id if secret_id.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}"
    )
    return Operation(
        SERVICE, operation, (request(action, arn, {"secretsmanager:SecretId": secret_id}, named=secret_id),)
    )
