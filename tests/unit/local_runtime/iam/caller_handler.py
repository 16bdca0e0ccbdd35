"""Handlers tests invoke: one reports whose credentials its cached S3 client signs with (the principal), one keeps
the task token a waiting execution hands it."""

from lambdas.common.clients import clients

TOKENS: list[str] = []


def whoami(event, context):  # type: ignore[no-untyped-def]
    credentials = clients().s3._request_signer._credentials  # what botocore signs each request with
    return {"access_key_id": credentials.access_key, "has_session_token": bool(credentials.token)}


def keep_token(event, context):  # type: ignore[no-untyped-def]
    TOKENS.append(event["token"])
    return {}
