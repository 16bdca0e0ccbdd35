"""Step Functions as AWS runs it, where moto's interpreter differs: how executions end (executions.py), the
status-change events they send (status_events.py), and the answers of StopExecution, StartExecution and
DescribeExecution (api.py)."""

from __future__ import annotations

from local_runtime.step_functions import api, executions


def install() -> None:
    """Patch moto's Step Functions; calling it again does nothing."""
    executions.install()
    api.install()
