"""What the local runtime implements beyond moto, what it runs for real, and what is known to differ from AWS.

One entry per AWS API, event or Step Functions integration the runtime adds to moto or answers differently from it.
docs/compatibility.md is generated from these entries and the tests that prove them (`make compatibility-report`):
a test joins with `@pytest.mark.compatibility("<entry key>")`, an entry no test proves fails the report's test, and
so does a marker naming no entry. `differs` is what a user could trip over: an assumption the AWS documentation does
not settle, or a behaviour the runtime leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    key: str  # what a test's marker names
    service: str
    api: str  # the API, event or integration as AWS names it
    does: str  # what the local runtime does, beyond what moto does
    differs: str = ""  # known differences from AWS; empty: none known


_ENTRIES = (
    # Step Functions
    Entry(
        "states:sagemaker.sync",
        "Step Functions",
        "arn:aws:states:::sagemaker:createTrainingJob.sync, createProcessingJob.sync, createTransformJob.sync",
        "Runs the job in the emulated SageMaker and waits for its end, woken by it (no polling); the output is the "
        "Describe* answer; a failed or stopped job fails the task with States.TaskFailed and the Describe* answer "
        "as cause; StopExecution, the execution's timeout and the task's TimeoutSeconds stop the job. moto refuses "
        "every .sync SageMaker resource.",
        "The failed job's cause and the output's epoch-millisecond timestamps follow Step Functions' other .sync "
        "integrations, not an observed SageMaker one; hyper-parameter tuning and labeling jobs are refused.",
    ),
    Entry(
        "states:sagemaker",
        "Step Functions",
        "arn:aws:states:::sagemaker:createModel, createEndpointConfig, createEndpoint, updateEndpoint",
        "Request-response tasks go through the emulated SageMaker (the endpoint really comes up) and return the "
        "Create*/Update* answer; an API error fails the task as SageMaker.<Code>Exception (or "
        "SageMaker.AmazonSageMakerException) with SageMaker's Java-SDK-style cause.",
        "Which error codes keep their own name is inferred from botocore's model.",
    ),
    Entry(
        "states:StopExecution",
        "Step Functions",
        "StopExecution",
        "Aborts the execution (ABORTED, stopDate, ExecutionAborted with the given error and cause, at most 256 and "
        "32,768 characters), cancels the state under way and releases a task waiting for its callback.",
    ),
    Entry(
        "states:payload-limits",
        "Step Functions",
        "StartExecution input, SendTaskSuccess output, SendTaskFailure error and cause",
        "Refuses an input or output over 262,144 UTF-8 bytes, an error over 256 and a cause over 32,768 characters "
        "with ValidationException, as the API reference's length limits (moto checks none); a task left waiting "
        "keeps its token.",
        "The exact wording for `input` and `output` is inferred from the same message for other sensitive members.",
    ),
    Entry(
        "states:RedriveExecution",
        "Step Functions",
        "RedriveExecution, with DescribeExecution's and ListExecutions' redrive members",
        "Redrives a FAILED, TIMED_OUT or ABORTED Standard execution from the top-level state that did not finish, "
        "with the input the history recorded for it (succeeded states are not run again); same ARN, "
        "ExecutionRedriven in the history, redriveCount, redriveDate, redriveStatus and its reason, "
        "ListExecutions' redriveFilter, clientToken idempotency, ExecutionNotRedrivable past 14 days, one year open "
        "or 24,999 events. moto answers HTTP 500.",
        "A Parallel or inline Map state is run again whole (AWS redrives only its failed branches or iterations); "
        "Map Runs cannot be redriven; no cap on the number of redrives.",
    ),
    Entry(
        "states:GetExecutionHistory",
        "Step Functions",
        "GetExecutionHistory: maxResults, nextToken, reverseOrder, includeExecutionData",
        "Pages as the API reference says (default 100, at most 1,000, 0 meaning the default), newest first on "
        "reverseOrder, InvalidToken for a token it did not issue, input and output left out without execution data. "
        "moto ignores all four.",
    ),
    Entry(
        "states:TimeoutSeconds",
        "Step Functions",
        "TimeoutSeconds (state machine)",
        "An execution past its state machine's TimeoutSeconds ends TIMED_OUT with its stopDate, whatever state it "
        "is in (moto notices it only where a state looks).",
    ),
    Entry(
        "states:status-change-events",
        "Step Functions",
        "Step Functions Execution Status Change (EventBridge)",
        "One event per status change of a Standard execution (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED) on the "
        "local default bus, in the documented shape; rules deliver it. moto sends none.",
    ),
    # Lambda
    Entry(
        "lambda:Invoke",
        "Lambda",
        "Invoke",
        "Runs the handler in-process with the function's environment, Lambda's own variables and credentials of a "
        "session of its execution role; a function may invoke another synchronously; scripted throttles and "
        "crashes answer as Lambda does; each invocation reports its duration, memory and log bytes.",
        "One invocation at a time per runtime; no concurrency or memory limits enforced; no separate process.",
    ),
    # EventBridge
    Entry(
        "events:delivery",
        "EventBridge",
        "rules: delivery to Lambda and Step Functions targets",
        "Events put on a bus (by the services or PutEvents) are matched against the rules' patterns and delivered to "
        "their Lambda and state machine targets, with the target's input transformation. moto stores rules only.",
    ),
    Entry(
        "scheduler:schedules",
        "EventBridge Scheduler",
        "schedules: at(), rate(), cron() with their time zone, retry policy and dead-letter queue",
        "Fires due schedules: StartExecution of the target state machine, signed by the target's role, with its "
        "Input and the context attributes (<aws.scheduler.scheduled-time>, execution-id, attempt-number, "
        "schedule-arn) filled in; cron in the schedule's time zone across daylight-saving changes as documented (a "
        "skipped hour's tick skipped, a repeated hour's run once); a failed start retried per the RetryPolicy, then "
        "sent to the dead-letter queue; one-time schedules deleted after firing when ActionAfterCompletion is "
        "DELETE; `serve --clock` moves the scheduler's clock. moto stores schedules only.",
        "The dead-letter message's attribute names and which errors are retried are not spelled out by the "
        "documentation (see local_runtime/scheduler_delivery.py); targets other than Step Functions are not fired.",
    ),
    # S3
    Entry(
        "s3:conditional-writes",
        "S3",
        "conditional writes: PutObject If-None-Match / If-Match, DeleteObject If-Match",
        "Evaluated atomically per key, so two writers racing for one key see one succeed and one answered "
        "PreconditionFailed (412) or ConditionalRequestConflict (409). moto's are not atomic.",
        "If-None-Match on a key whose current version is a delete marker is allowed, as moto allows it; not "
        "verified on AWS.",
    ),
    # CloudWatch
    Entry(
        "cloudwatch:emf",
        "CloudWatch",
        "embedded metric format (EMF) in Lambda logs",
        "A function's EMF lines become metrics in the local CloudWatch, as CloudWatch Logs extracts them; a "
        "malformed document is kept as a log line and named in a warning.",
    ),
    Entry(
        "cloudwatch:alarms",
        "CloudWatch",
        "alarm evaluation",
        "Alarms on the functions' and the endpoints' metrics are evaluated every period, with their statistic, "
        "threshold, evaluation periods and missing-data treatment; state changes reach their actions. moto never "
        "evaluates an alarm.",
        "Periods run on the runtime's time scale.",
    ),
    # SageMaker
    Entry(
        "sagemaker:CreateTrainingJob",
        "SageMaker",
        "CreateTrainingJob",
        "Trains for real: channels from S3 prefixes or manifests into SageMaker's /opt/ml layout (File or Pipe mode, "
        "gzip), the built-in Linear Learner and XGBoost or the user's Script Mode script as a subprocess, metrics from "
        "the log, model.tar.gz to S3, secondary statuses, Managed Spot (checkpoints, interruptions, billable time), "
        "StopTrainingJob, state-change events. moto marks a job Completed at once.",
        "One host, no GPU, whatever InstanceCount asks; Linear Learner is a stand-in (scikit-learn), not the AWS "
        "algorithm; framework images run on this machine's installed framework.",
    ),
    Entry(
        "sagemaker:CreateProcessingJob",
        "SageMaker",
        "CreateProcessingJob",
        "Runs the container's command on the downloaded inputs, uploads the outputs, ExitMessage from "
        "/opt/ml/output/message, MaxRuntimeInSeconds, StopProcessingJob, state-change events.",
        "The image's command runs on this machine's Python and installed frameworks.",
    ),
    Entry(
        "sagemaker:CreateTransformJob",
        "SageMaker",
        "CreateTransformJob",
        "Serves the job's model from workers and transforms the S3 objects (prefix or manifest, split by line, "
        "batch strategy, input filter and join), `.out` objects to S3, StopTransformJob, state-change events.",
    ),
    Entry(
        "sagemaker:endpoints",
        "SageMaker",
        "CreateEndpoint, UpdateEndpoint, InvokeEndpoint",
        "Endpoints serve their model from worker processes behind the inference container contract; an update "
        "keeps the old fleet answering until the new one is healthy (zero downtime); blue/green guardrails shift "
        "traffic (all at once, canary, linear), bake and roll back on their CloudWatch alarms; a failed update "
        "leaves the endpoint InService on the old config with FailureReason; serverless variants cold-start on the "
        "first invocation after idle and stop after idling; an update that changes a variant registered with "
        "Application Auto Scaling to another instance type is refused.",
        "Serverless throttling is answered ThrottlingException (SageMaker documents only that it throttles); the "
        "idle period before a serverless variant stops is the runtime's choice (SageMaker does not document it); "
        "no autoscaling policy runs on traffic.",
    ),
    Entry(
        "sagemaker:lineage",
        "SageMaker",
        "ML Lineage Tracking: artifacts, actions, contexts, associations",
        "CreateArtifact, CreateAction, CreateContext, AddAssociation, their List/Describe/Delete, and the lineage "
        "queries the CLI makes. moto implements none of them.",
    ),
    Entry(
        "sagemaker:events",
        "SageMaker",
        "SageMaker Model Package State Change, Training/Processing/Transform Job State Change, Endpoint State Change "
        "(EventBridge)",
        "Sent as SageMaker sends them when a model package is created or changes approval, and when a job or an "
        "endpoint changes status; moto's SageMaker sends none.",
    ),
    Entry(
        "sagemaker:Search",
        "SageMaker",
        "Search with nested property filters",
        "Filters on dotted property paths (e.g. ModelArtifacts.S3ModelArtifacts, the SDK's `estimator.register`), "
        "`Metrics.<name>` and all ten operators of the API reference's Filter. moto refuses every dotted name.",
    ),
    Entry(
        "sagemaker:model-packages",
        "SageMaker",
        "CreateModel from a model package (Containers with ModelPackageName)",
        "The model serves the package's InferenceSpecification containers (image and artifact), the container's "
        "Environment over the package's, on endpoints and in transform jobs.",
        "How the two environments merge is assumed, not documented; CreateModel from a package that is not "
        "Approved, or does not exist, is not refused (a missing package fails at deployment).",
    ),
    Entry(
        "sagemaker:python-sdk",
        "SageMaker",
        "SageMaker Python SDK v2 and v3, sagemaker-core (clients)",
        "Their standard flows run unchanged against the local runtime: Estimator fit/deploy/predict (Linear "
        "Learner, built-in XGBoost, scikit-learn Script Mode), Transformer, SKLearnProcessor.run, model "
        "registration, approval and deployment of a ModelPackage, v3 ModelTrainer/ModelBuilder, sagemaker-core "
        "resources; STS GetCallerIdentity and AssumeRole are answered, and the SDK's own STS calls "
        "(get_execution_role(), an unnamed default_bucket()) through the HTTPS_PROXY and AWS_CA_BUNDLE serve "
        "prints. JumpStart is refused in one line (its models live in AWS's bucket).",
        "The SDK sends its own STS calls to sts.<region>.amazonaws.com past AWS_ENDPOINT_URL: without serve's two "
        "exports they fail offline. The default credentials are a user (arn:aws:sts::123456789012:user/moto), so "
        "get_execution_role() refuses them in the SDK's words, as AWS would a user. Local mode and ModelBuilder's "
        "container modes need Docker.",
    ),
    # IAM and Application Auto Scaling
    Entry(
        "iam:enforcement",
        "IAM",
        "policy evaluation on every request",
        "Requests signed by a deployed role's session are authorized against its identity policies and the bucket "
        "and key policies, as IAM evaluates them; a denied request is answered AccessDenied as the service does; "
        "SimulatePrincipalPolicy, which moto lacks, is answered.",
        "Conditions on context keys a request does not carry are reported and allowed; Application Auto Scaling's "
        "calls are not checked.",
    ),
    Entry(
        "application-autoscaling:RegisterScalableTarget",
        "Application Auto Scaling",
        "RegisterScalableTarget (SageMaker variants)",
        "Moves an InService variant's instance count into the registered range, as the API reference says.",
    ),
)

ENTRIES: dict[str, Entry] = {entry.key: entry for entry in _ENTRIES}
