"""The runtime's faults over HTTP (`/_local/faults`), for a terminal next to `serve`: script, list, clear.

    POST   {"fault": <one of Faults.SCRIPTABLE>, ...its arguments}  -> 201 and the fault
    GET                                                             -> {"faults": [...]}, each with `fired`
    DELETE                                                          -> clears them all (Slack's included)

A fault aimed at something names it: a Lambda `function` (its name, ARN or a part of its name), an `endpoint`, a
`model`, a `pipeline`. Over HTTP that target must exist, or the request is answered 404 naming it and listing what
exists: a typo would otherwise arm a fault that never fires. An endpoint or pipeline exists once a stack that
defines it is deployed (the endpoint itself is created by the first run); a model must exist in SageMaker. A Slack
fault asked of a runtime that posts to no local Slack server is answered 409.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from local_runtime.fault_records import NoLocalSlackError, function_matches
from local_runtime.faults import Faults

# The argument of each fault that names what it acts on, and the kind of thing it names.
TARGETS: dict[str, dict[str, str]] = {
    "throttle_lambda": {"function": "function"},
    "crash_lambda": {"function": "function"},
    "fail_training_job": {"pipeline": "pipeline"},
    "stall_training_job": {"pipeline": "pipeline"},
    "stall_transform_job": {"pipeline": "pipeline"},
    "interrupt_spot": {"pipeline": "pipeline"},
    "slow_endpoint_deployment": {"endpoint": "endpoint"},
    "fail_invocations": {"model": "model", "endpoint": "endpoint"},
}


MAX_LISTED = 40  # names in a refusal: every function of two pipelines, not every model of a year of runs


class UnknownTargetError(ValueError):
    """A fault aimed at a function, endpoint, model or pipeline that does not exist."""


@dataclass(frozen=True)
class KnownTargets:
    """What a fault may be aimed at in this runtime now."""

    functions: Sequence[tuple[str, str]]  # (name, ARN) of each registered function
    endpoints: Sequence[str]
    models: Sequence[str]
    pipelines: Sequence[str]


def check_targets(fault: str, arguments: Mapping[str, Any], known: KnownTargets) -> None:
    """Raise UnknownTargetError when `fault`'s arguments name a function, endpoint, model or pipeline that does not
    exist; the message names it and lists what exists. Arguments of the wrong type are left to the fault itself."""
    for argument, kind in TARGETS.get(fault, {}).items():
        wanted = arguments.get(argument)
        if not isinstance(wanted, str):
            continue
        if kind == "function":
            if not any(function_matches(wanted, name, arn) for name, arn in known.functions):
                names = sorted({name for name, _ in known.functions})
                raise UnknownTargetError(
                    f"{fault}: no function is named, or has a name containing, {wanted!r}; "
                    f"the functions: {_listed(names)}"
                )
            continue
        existing = {"endpoint": known.endpoints, "model": known.models, "pipeline": known.pipelines}[kind]
        if wanted not in existing:
            raise UnknownTargetError(f"{fault}: there is no {kind} {wanted!r}; the {kind}s: {_listed(existing)}")


def answer(faults: Faults, method: str, body: bytes, known: Callable[[], KnownTargets]) -> tuple[int, dict[str, Any]]:
    """The status and JSON answer of one request to the faults API; `known` is asked only when a fault is posted."""
    if method == "POST":
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict):
                raise ValueError("the body must be a JSON object")
            name = str(request.pop("fault", ""))
            check_targets(name, request, known())
            fault = faults.script(name, **request)
        except UnknownTargetError as error:
            return 404, {"message": str(error)}
        except NoLocalSlackError as error:
            return 409, {"message": str(error)}
        except ValueError as error:  # json.JSONDecodeError included
            return 400, {"message": str(error)}
        return 201, fault.to_json()
    if method == "DELETE":
        faults.clear()
    elif method != "GET":
        return 405, {"message": f"{method} is not supported: GET, POST or DELETE"}
    return 200, {"faults": [fault.to_json() for fault in faults.scripted]}


def _listed(names: Sequence[str]) -> str:
    ordered = sorted(names)
    shown = ", ".join(ordered[:MAX_LISTED]) or "none"
    return f"{shown} and {len(ordered) - MAX_LISTED} more" if len(ordered) > MAX_LISTED else shown
