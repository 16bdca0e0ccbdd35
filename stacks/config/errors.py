"""The configuration's errors: ConfigError for the app, FieldError for a rule that names a field of a section."""

from __future__ import annotations

from collections.abc import Callable


class ConfigError(ValueError):
    """The configuration is invalid; the message names the pipeline and the field."""


Label = Callable[[str], str]


class FieldError(ValueError):
    """A cross-field rule broken in a section, raised by its validators and reported as a ConfigError.

    `key` is the field the message starts with, relative to the section (`max_delay_seconds`, `events[1].name`);
    `problem` follows its label, and when it names other fields it is a function given their labels.
    """

    def __init__(self, key: str, problem: str | Callable[[Label], str]) -> None:
        super().__init__(key, problem)
        self.key = key
        self.problem = problem

    def message(self, section: str) -> str:
        """The message, with every field labelled from the pipeline down (`section` is the section's label)."""

        def label(key: str) -> str:
            return join_label(section, key)

        problem = self.problem if isinstance(self.problem, str) else self.problem(label)
        return f"{label(self.key)} {problem}"


def join_label(section: str, key: str) -> str:
    """A field's label under a section's: `rollout` and `alarms` give `rollout.alarms`, `email` and `[1]` give
    `email[1]`."""
    if not section or not key:
        return section or key
    return f"{section}{key}" if key.startswith("[") else f"{section}.{key}"
