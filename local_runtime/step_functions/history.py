"""GetExecutionHistory's paging as the API reference documents it; moto answers every event at once and ignores
`maxResults`, `nextToken`, `reverseOrder` and `includeExecutionData`.

- `maxResults`: "The default is 100 and the maximum allowed page size is 1000. A value of 0 uses the default."
  (PageSize: min 0, max 1000). Over 1000 is refused as AWS refuses a value out of its range: ValidationException
  "1 validation error detected: Value '<v>' at 'maxResults' failed to satisfy constraint: Member must have value
  less than or equal to 1000" (botocore checks only the minimum on the client).
- `nextToken`: given when more events remain; "Make the call again using the returned token ... Keep all other
  arguments unchanged"; a token that is not one (or was made for other arguments) answers HTTP 400 InvalidToken.
  The token here is opaque to clients: the last event id served and the order, encoded.
- `reverseOrder`: newest events first.
- `includeExecutionData` (default true): false leaves out the execution data, the history events' `input` and
  `output` (the members the service model types SensitiveData).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from moto.core.responses import ActionResult
from moto.stepfunctions.exceptions import InvalidToken, ValidationException
from moto.stepfunctions.responses import StepFunctionResponse

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
EXECUTION_DATA = ("input", "output")

_installed = False


def install() -> None:
    """Serve GetExecutionHistory in pages; calling it again does nothing."""
    global _installed
    if _installed:
        return
    original = StepFunctionResponse.get_execution_history

    def get_execution_history(self: StepFunctionResponse) -> ActionResult:
        everything: ActionResult = original(self)
        events = everything.result["events"] if isinstance(everything.result, dict) else []
        include_data = self._get_param("includeExecutionData")
        return ActionResult(
            history_page(
                events,
                max_results=self._get_param("maxResults"),
                next_token=self._get_param("nextToken"),
                reverse=bool(self._get_param("reverseOrder")),
                include_data=include_data is None or bool(include_data),
            )
        )

    StepFunctionResponse.get_execution_history = get_execution_history  # type: ignore[method-assign]
    _installed = True


def history_page(
    events: Sequence[Mapping[str, Any]],
    *,
    max_results: int | None,
    next_token: str | None,
    reverse: bool,
    include_data: bool,
) -> dict[str, Any]:
    """One page of the history, in the order asked, with the token of the next page if there is one."""
    if max_results is not None and max_results > MAX_PAGE_SIZE:
        raise ValidationException(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value less than or equal to {MAX_PAGE_SIZE}"
        )
    size = max_results or DEFAULT_PAGE_SIZE
    ordered = sorted(events, key=lambda event: int(event["id"]), reverse=reverse)
    if next_token is not None:
        after = _last_served(next_token, reverse)
        ordered = [event for event in ordered if (int(event["id"]) < after if reverse else int(event["id"]) > after)]
    page = [event if include_data else _without_data(event) for event in ordered[:size]]
    answer: dict[str, Any] = {"events": page}
    if len(ordered) > size:
        answer["nextToken"] = _token(int(page[-1]["id"]), reverse)
    return answer


def _token(last_served: int, reverse: bool) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_served, "reverse": reverse}).encode()).decode()


def _last_served(token: str, reverse: bool) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidToken(token) from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("after"), int) or decoded.get("reverse") != reverse:
        raise InvalidToken(token)
    after: int = decoded["after"]
    return after


def _without_data(event: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: {k: v for k, v in value.items() if k not in EXECUTION_DATA} if key.endswith("EventDetails") else value
        for key, value in event.items()
    }
