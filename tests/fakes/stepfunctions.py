"""Step Functions' task-token API as a recording fake: a token is waiting, resumed once, or gone."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError


class TaskTokens:
    """SendTaskSuccess for tokens registered as waiting; any other token is answered as AWS answers it."""

    def __init__(self, *waiting: str, gone_code: str = "TaskTimedOut") -> None:
        self.waiting = set(waiting)
        self.gone_code = gone_code
        self.resumed: list[tuple[str, dict[str, Any]]] = []

    def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        if taskToken not in self.waiting:
            raise ClientError({"Error": {"Code": self.gone_code, "Message": "Task Timed Out"}}, "SendTaskSuccess")
        self.waiting.discard(taskToken)
        self.resumed.append((taskToken, json.loads(output)))
        return {}
