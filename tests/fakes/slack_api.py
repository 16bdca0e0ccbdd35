"""The local Slack Web API, which now lives in the local runtime; kept here for the tests that import it."""

from local_runtime.slack_api import FakeSlackApi, ReceivedMessage, block_texts  # noqa: F401
