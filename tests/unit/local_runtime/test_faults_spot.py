"""The `interrupt_spot` fault: armed in Python or over HTTP, aimed at a pipeline, counted only when it interrupts."""

from __future__ import annotations

import json

import pytest

from local_runtime.faults import Faults
from local_runtime.faults_api import KnownTargets, answer

KNOWN = KnownTargets(functions=[], endpoints=[], models=[], pipelines=["churn"])


def test_an_interruption_is_armed_for_the_named_pipelines_spot_jobs_only() -> None:
    faults = Faults()
    fault = faults.interrupt_spot(pipeline="churn", after_seconds=2, restart_after_seconds=5)

    armed = faults.spot_interruption("churn")

    assert armed is not None
    assert (armed.after_seconds, armed.restart_after_seconds, armed.fault) == (2.0, 5.0, fault)
    assert faults.spot_interruption("fraud") is None
    # asking is not firing: only an attempt actually interrupted counts
    assert fault.fired == 0


def test_a_fired_interruption_is_spent() -> None:
    faults = Faults()
    fault = faults.interrupt_spot()
    armed = faults.spot_interruption(None)
    assert armed is not None

    assert armed.fault.take()

    assert (fault.fired, faults.spot_interruption(None)) == (1, None)


def test_it_is_scriptable_over_http_like_the_other_faults() -> None:
    faults = Faults()
    body = json.dumps({"fault": "interrupt_spot", "pipeline": "churn", "restart_after_seconds": 2}).encode()

    status, fault = answer(faults, "POST", body, lambda: KNOWN)

    assert (status, fault["description"], fault["fired"]) == (201, "interrupt spot training of pipeline churn", 0)
    assert faults.spot_interruption("churn") is not None


def test_over_http_an_unknown_pipeline_is_refused_naming_it() -> None:
    body = json.dumps({"fault": "interrupt_spot", "pipeline": "fruad"}).encode()

    status, refusal = answer(Faults(), "POST", body, lambda: KNOWN)

    assert (status, refusal["message"]) == (404, "interrupt_spot: there is no pipeline 'fruad'; the pipelines: churn")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"after_seconds": -1}, "interrupt_spot: after_seconds must be a number of seconds, at least 0, got -1"),
        ({"restart_after_seconds": "soon"}, "restart_after_seconds must be a number of seconds"),
        ({"times": 1.5}, "times must be a whole number or None"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Faults().script("interrupt_spot", **arguments)
