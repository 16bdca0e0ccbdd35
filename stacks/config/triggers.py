"""The `triggers` section: runs started by new data in the bucket and by upstream EventBridge events."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import Field, PlainValidator, StrictInt, WithJsonSchema, model_validator

from stacks.config.errors import FieldError
from stacks.config.fields import Rule, Section
from stacks.event_patterns import pattern_problem

# New data starts a run once uploads have been quiet for quiet_seconds, and at the latest max_delay_seconds
# after the first object of the burst, so a steady trickle still runs.
NEW_DATA_QUIET_SECONDS = (1, 86_400)
NEW_DATA_MAX_DELAY_SECONDS = (1, 7 * 86_400)
# Names go into the run's trigger ("event:<name>") and the rule's construct id.
_TRIGGER_NAME = re.compile(r"^[a-z](?:-?[a-z0-9])*$")
_TRIGGER_NAME_MAX_LENGTH = 32
MAX_EVENT_TRIGGERS = 10


class NewDataTriggerConfig(Section):
    quiet_seconds: StrictInt = Field(default=300, ge=NEW_DATA_QUIET_SECONDS[0], le=NEW_DATA_QUIET_SECONDS[1])
    max_delay_seconds: StrictInt = Field(
        default=3_600, ge=NEW_DATA_MAX_DELAY_SECONDS[0], le=NEW_DATA_MAX_DELAY_SECONDS[1]
    )

    @model_validator(mode="after")
    def _delay_covers_the_quiet_period(self) -> NewDataTriggerConfig:
        quiet, max_delay = self.quiet_seconds, self.max_delay_seconds
        if max_delay < quiet:
            raise FieldError(
                "max_delay_seconds",
                lambda label: (
                    f"({max_delay}) must be at least {label('quiet_seconds')} ({quiet}): the run starts at the "
                    "latest max_delay_seconds after the first new object, so a shorter delay would cut every quiet "
                    "period"
                ),
            )
        return self


def _event_pattern(pattern: Any) -> Mapping[str, Any]:
    problem = pattern_problem(pattern)
    if problem:
        raise ValueError(problem)
    # A deep copy, so the configuration cannot change under the stack.
    copy: dict[str, Any] = json.loads(json.dumps(pattern))
    return MappingProxyType(copy)


EventPattern = Annotated[
    Mapping[str, Any],
    PlainValidator(_event_pattern),
    WithJsonSchema({"type": "object", "minProperties": 1, "description": "an EventBridge event pattern"}),
    Rule("a non-empty JSON object of event fields (an EventBridge event pattern)"),
]


class EventTriggerConfig(Section):
    """An upstream event (an EventBridge pattern) that starts one run per matching event."""

    rule = "an object with name and pattern"

    name: Annotated[
        str,
        Field(pattern=_TRIGGER_NAME.pattern, max_length=_TRIGGER_NAME_MAX_LENGTH),
        Rule(f"1 to {_TRIGGER_NAME_MAX_LENGTH} lowercase letters, digits or single hyphens, starting with a letter"),
    ]
    pattern: EventPattern

    @property
    def trigger(self) -> str:
        """The run input's `trigger` for runs this event starts."""
        return f"event:{self.name}"


class TriggersConfig(Section):
    new_data: NewDataTriggerConfig | None = None
    events: Annotated[
        tuple[EventTriggerConfig, ...],
        Field(max_length=MAX_EVENT_TRIGGERS),
        Rule(f"a list of at most {MAX_EVENT_TRIGGERS} objects"),
    ] = ()

    @model_validator(mode="after")
    def _names_are_unique(self) -> TriggersConfig:
        names = [event.name for event in self.events]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise FieldError(f"events[{index}].name", f"{name!r} is used by another event trigger")
        return self
