"""Lambda handlers that EventBridge rules target in the event bus tests."""


class RejectedEventError(Exception):
    pass


def echo(event, context):  # type: ignore[no-untyped-def]
    return {"received": event, "function": context.function_name}


def reject(event, context):  # type: ignore[no-untyped-def]
    raise RejectedEventError(f"{context.function_name} rejects every event")
