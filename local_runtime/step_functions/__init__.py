"""Step Functions as AWS runs it, where moto's interpreter differs: how executions end (executions.py), the
status-change events they send (status_events.py), and the answers of StopExecution, StartExecution and
DescribeExecution (api.py), RedriveExecution (redrive.py, redrive_eligibility.py), GetExecutionHistory's paging
(history.py), and the optimized SageMaker integrations moto does not run (sagemaker_tasks.py)."""

from __future__ import annotations

from local_runtime.step_functions import api, executions, history, sagemaker_tasks


def install() -> None:
    """Patch moto's Step Functions; calling it again does nothing."""
    executions.install()
    api.install()
    history.install()
    sagemaker_tasks.install()
