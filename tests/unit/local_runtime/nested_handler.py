"""Lambda handlers for the nested invocation tests: one invokes another synchronously, as RunEnded invokes CleanUp."""

import json

import boto3
from botocore.config import Config


def caller(event, context):  # type: ignore[no-untyped-def]
    # A short read timeout and no retries: a deadlock shows as an error in seconds, not as a hung test. A session of
    # its own: boto3's default session keeps the credentials it first resolved in this process (another test's),
    # while a function signs with its own role's session, as lambdas/common/clients.py's clients do.
    client = boto3.session.Session().client("lambda", config=Config(read_timeout=10, retries={"total_max_attempts": 1}))
    response = client.invoke(FunctionName=event["callee"], Payload=json.dumps({"from": context.function_name}))
    return {"caller": context.function_name, "answer": json.loads(response["Payload"].read())}


def callee(event, context):  # type: ignore[no-untyped-def]
    return {"callee": context.function_name, "received": event}
