"""The registry of the workflow's steps: each Lambda step's name, folder, the ASL states it serves, and the
config section a run needs to reach it.

One name per step from folder to state: `lambdas/check_data/` is built by `stacks/constructs/steps/check_data.py`
and invoked by the ASL's `CheckData` through the `${CheckDataFunctionArn}` placeholder. The stack builds every
step in this order and substitutes every placeholder from it; the local runtime's progress view and the tests
read the same list. Adding a step: a Lambda folder, a construct module of the same name, and an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One Lambda function of the workflow.

    `name` is its construct id and the stem of its ASL placeholder; `states` are the ASL Task states that invoke
    it. `reached_with` names the config section without which no run reaches it: the function is deployed
    anyway, so that the definition is the same for every pipeline.
    """

    name: str
    folder: str
    states: tuple[str, ...]
    reached_with: str | None = None

    @property
    def placeholder(self) -> str:
        """The `${...}` name the ASL gives the function's ARN."""
        return f"{self.name}FunctionArn"

    @property
    def handler(self) -> str:
        return f"lambdas.{self.folder}.handler.lambda_handler"

    @property
    def state(self) -> str:
        """The one state of a step that serves one; ValueError for a Lambda that serves several."""
        if len(self.states) != 1:
            raise ValueError(f"{self.name} serves {len(self.states)} states: {', '.join(self.states)}")
        return self.states[0]


CHECK_DATA = Step("CheckData", "check_data", ("CheckData",))
START_PREPROCESSING = Step(
    "StartPreprocessing", "start_preprocessing", ("StartPreprocessing",), reached_with="preprocessing"
)
START_TRAINING_JOB = Step("StartTrainingJob", "start_training_job", ("StartTrainingJob",))
# One function checks the status in each wait loop; AwaitStatusChange is each loop's wait until the event.
GET_STATUS = Step(
    "GetStatus",
    "get_status",
    (
        "GetPreprocessingStatus",
        "GetTrainingStatus",
        "GetEvaluationStatus",
        "GetEndpointStatus",
        "GetBatchTransformStatus",
    ),
)
AWAIT_STATUS_CHANGE = Step(
    "AwaitStatusChange",
    "await_status_change",
    ("WaitForPreprocessing", "WaitForTraining", "WaitForEvaluation", "WaitForDeployment", "WaitForBatchTransform"),
)
# Scores the new and the production model on the holdout; reached when the built-in evaluators apply.
START_EVALUATION = Step("StartEvaluation", "start_evaluation", ("StartEvaluation",), reached_with="evaluation")
EVALUATE_MODEL = Step("EvaluateModel", "evaluate_model", ("EvaluateModel",))
# Invoked with a task token: the state waits until a person decides (or the approval times out).
REQUEST_APPROVAL = Step("RequestApproval", "request_approval", ("WaitForApproval",))
DEPLOY_MODEL = Step("DeployModel", "deploy_model", ("DeployModel",))
START_BATCH_TRANSFORM = Step(
    "StartBatchTransform", "start_batch_transform", ("StartBatchTransform",), reached_with="batch_transform"
)
# Sends a few of the run's records to the endpoint serving the new model; rolls it back on a bad answer.
SMOKE_TEST = Step("SmokeTest", "smoke_test", ("SmokeTest",))
UPDATE_PARAMETERS = Step("UpdateParameters", "update_parameters", ("UpdateParameters",))
RECORD_LINEAGE = Step("RecordLineage", "record_lineage", ("RecordLineage",))
PRUNE_MODELS = Step("PruneModels", "prune_models", ("PruneModels",))
# The failure path's: stops and deletes what the failed run created.
CLEAN_UP = Step("CleanUp", "clean_up", ("CleanUp",))
# Every notification state; without Slack configured it only logs.
NOTIFY_SLACK = Step(
    "NotifySlack",
    "notify_slack",
    (
        "NotifyNoNewData",
        "NotifyRunInProgress",
        "NotifyTrainingStarted",
        "NotifyTrainingCompleted",
        "NotifyApprovalRequested",
        "NotifyApprovalTimedOut",
        "NotifyDeploymentStarted",
        "NotifyDeployed",
        "NotifyBatchTransformed",
        "NotifyBatchTransformFailed",
        "NotifyModelRejected",
        "NotifyBackfillRegistered",
        "NotifyFailure",
    ),
)

WORKFLOW_STEPS = (
    CHECK_DATA,
    START_PREPROCESSING,
    START_TRAINING_JOB,
    GET_STATUS,
    AWAIT_STATUS_CHANGE,
    START_EVALUATION,
    EVALUATE_MODEL,
    REQUEST_APPROVAL,
    DEPLOY_MODEL,
    START_BATCH_TRANSFORM,
    SMOKE_TEST,
    UPDATE_PARAMETERS,
    RECORD_LINEAGE,
    PRUNE_MODELS,
    CLEAN_UP,
    NOTIFY_SLACK,
)
STEPS_BY_NAME = {step.name: step for step in WORKFLOW_STEPS}
