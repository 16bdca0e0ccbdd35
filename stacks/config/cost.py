"""The `cost` section: the price table a run's cost is estimated from (stacks/pricing.py reads it at synth)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from stacks.config.fields import Rule, Section
from stacks.show import show

# The table that ships with the project: us-east-1 on-demand list prices, each with its date and source.
DEFAULT_PRICE_TABLE = "contract/prices/sagemaker-us-east-1.json"


def _inside_the_project(path: str) -> str:
    if path.startswith("/") or ".." in path.split("/") or not path.endswith(".json"):
        raise ValueError(f"must be the path of a .json file inside the project, got {show(path)}")
    return path


class CostConfig(Section):
    """Where the run's cost comes from: `price_table`, a JSON file relative to the project root of the shape of
    contract/prices/sagemaker-us-east-1.json (USD per instance-hour by kind and instance type, each with its date
    and source). Point it at your own for another region, a newer reading or a negotiated price."""

    price_table: Annotated[
        str,
        Field(min_length=1),
        AfterValidator(_inside_the_project),
        Rule("the path of a .json price table inside the project, like contract/prices/sagemaker-us-east-1.json"),
    ] = DEFAULT_PRICE_TABLE
