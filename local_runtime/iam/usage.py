"""Which grants of the deployed roles the local runtime's requests used: the rest are candidates for removal.

Every role session's allowed request is counted against the action patterns of the Allow statements that applied
(`s3:GetObject`, `sagemaker:Describe*`), by the role's logical id in its template, so that runs of differently
configured stacks add up: `StepsCheckDataRole3B51B8BA` grants the same actions whatever the stack is called.

One record per process (`GRANT_USAGE`), which every enforcing server adds to. With `LOCAL_IAM_USAGE_DIR` set, a
process writes its record there as `<pid>.json` when it exits; the test suite sets it, so that the processes it
starts (`serve`, `demo`) count too, and merges the files into one report (`merge`, `render`).
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_runtime.iam.policy import action_matches, listed
from local_runtime.iam.roles import TemplateRole

USAGE_DIR_VARIABLE = "LOCAL_IAM_USAGE_DIR"
# Grants that the services use on the role's behalf, never the code's own calls: the local runtime cannot exercise
# them (Lambda writes a function's logs and traces itself; Step Functions delivers its logs and traces).
SERVICE_SIDE_PREFIXES = ("logs:", "xray:")


@dataclass(frozen=True, order=True)
class Grant:
    """An action pattern a role's Allow statement grants, by the role's logical id."""

    role: str
    action: str


class GrantUsage:
    """The grants the deployed roles hold and those an allowed request used (thread-safe)."""

    def __init__(self) -> None:
        self.granted: set[Grant] = set()
        self.used: set[Grant] = set()
        self._lock = threading.Lock()

    def add_roles(self, roles: Iterable[TemplateRole]) -> None:
        grants = {
            Grant(role.logical_id, action)
            for role in roles
            for statement in role.statements
            if statement.get("Effect") == "Allow"
            for action in listed(statement.get("Action", []))
        }
        with self._lock:
            self.granted |= grants

    def record(self, role: str, statements: Iterable[Mapping[str, Any]], action: str) -> None:
        """`action` was allowed to the role `role` (logical id) by `statements` (the Allow statements that applied)."""
        used = {
            Grant(role, pattern)
            for statement in statements
            for pattern in listed(statement.get("Action", []))
            if action_matches(pattern, action)
        }
        with self._lock:
            self.used |= used

    def to_json(self) -> dict[str, list[list[str]]]:
        with self._lock:
            return {
                "granted": [[g.role, g.action] for g in sorted(self.granted)],
                "used": [[g.role, g.action] for g in sorted(self.used)],
            }

    def dump(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{os.getpid()}.json").write_text(json.dumps(self.to_json()))


GRANT_USAGE = GrantUsage()


def merge(directory: Path) -> GrantUsage:
    """The records the processes wrote to `directory`, added up."""
    total = GrantUsage()
    for path in sorted(directory.glob("*.json")):
        record = json.loads(path.read_text())
        total.granted |= {Grant(role, action) for role, action in record["granted"]}
        total.used |= {Grant(role, action) for role, action in record["used"]}
    return total


def render(usage: GrantUsage) -> str:
    """The unused grants by role, code-side first; the service-side ones (logs, traces) listed apart."""
    unused = sorted(usage.granted - usage.used)
    code_side = [g for g in unused if not g.action.startswith(SERVICE_SIDE_PREFIXES)]
    service_side = [g for g in unused if g.action.startswith(SERVICE_SIDE_PREFIXES)]
    lines = [
        f"IAM grants: {len(usage.granted)} granted (role, action), {len(usage.granted & usage.used)} used by a request",
        f"Never used by any request ({len(code_side)}): candidates for removal, or calls no test makes",
    ]
    lines += [f"  {g.role}: {g.action}" for g in code_side]
    lines.append(
        f"Used by the services on the roles' behalf, which the local runtime does not call ({len(service_side)}): "
        + ", ".join(sorted({g.action for g in service_side}))
    )
    return "\n".join(lines) + "\n"


def _dump_at_exit() -> None:
    directory = os.environ.get(USAGE_DIR_VARIABLE)
    if directory and (GRANT_USAGE.granted or GRANT_USAGE.used):
        GRANT_USAGE.dump(Path(directory))


atexit.register(_dump_at_exit)
