"""Raw pipeline objects as a configuration file holds them, and their parsing, for the config's tests."""

from __future__ import annotations

from typing import Any

from stacks.config import PipelineConfig, parse_pipeline


def churn(**fields: Any) -> dict[str, Any]:
    """A minimal valid pipeline object, with `fields` added or replaced."""
    return {"name": "churn", "data_prefix": "data/churn", **fields}


def parse_one(**fields: Any) -> PipelineConfig:
    return parse_pipeline(churn(**fields))
