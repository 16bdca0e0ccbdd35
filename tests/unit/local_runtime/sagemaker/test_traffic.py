"""A guarded rollout's traffic steps: how a TrafficRoutingConfiguration shifts traffic to the new fleet."""

from __future__ import annotations

from typing import Any

import pytest

from local_runtime.sagemaker.traffic import traffic_shifts


@pytest.mark.parametrize(
    ("routing", "shares"),
    [
        ({"Type": "ALL_AT_ONCE"}, [1.0]),
        ({"Type": "CANARY", "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}}, [0.1, 1.0]),
        ({"Type": "CANARY", "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}, [0.25, 1.0]),
        ({"Type": "LINEAR", "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 30}}, [0.3, 0.6, 0.9, 1.0]),
        ({"Type": "LINEAR", "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 50}}, [0.5, 1.0]),
    ],
)
def test_traffic_shifts_follow_the_routing_type(routing: dict[str, Any], shares: list[float]) -> None:
    # GIVEN a new fleet of 4 instances / WHEN the routing is turned into steps
    steps = traffic_shifts(routing, instance_count=4)

    # THEN each step's share of the traffic grows to all of it
    assert [step.share for step in steps] == pytest.approx(shares)
