"""What `demo` and `serve` print beside the live view of executions: the Slack messages the local server receives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from local_runtime.slack_api import ReceivedMessage, render_message
from operator_cli.progress import Console


def show_message(console: Console, *, indent: str = "  ") -> Callable[[ReceivedMessage], None]:
    """A callback for the Slack server that prints each message: its header, then its facts indented."""

    def show(message: ReceivedMessage) -> None:
        lines = render_message(message)
        console.line(f"{indent}💬 {lines[0]}")
        for line in lines[1:3]:
            console.line(f"{indent}   {console.dim(line)}")

    return show


def slack_channels(templates: Mapping[str, Any]) -> set[str]:
    """The channels the templates' functions post to (their SLACK_CHANNEL), for the local server to know."""
    channels: set[str] = set()
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            value = resource.get("Properties", {}).get("Environment", {}).get("Variables", {}).get("SLACK_CHANNEL")
            if isinstance(value, str):
                channels.add(value)
    return channels
