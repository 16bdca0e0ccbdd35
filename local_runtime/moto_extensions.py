"""What the workflow needs from moto and moto lacks: UpdateEndpoint, StopTrainingJob, and AWS's error names.

UpdateEndpoint obeys Application Auto Scaling's registrations as SageMaker does (see
local_runtime/sagemaker/autoscaling.py).

CreateModel keeps InferenceExecutionConfig (moto drops it), so a serial inference pipeline model is described
as created, and refuses more containers than SageMaker allows.

moto completes jobs and endpoints at once; these follow the same convention: an update switches the
endpoint to the new config and it is InService again, a stop ends the job Stopped. Registered on moto's
backend and response classes, so they work in decorator mode and in server mode alike.

moto's interpreter names an aws-sdk task's error `<service as in the ARN>.<exception class>`
(`sagemaker.SageMakerException` for a throttled StopTrainingJob); Step Functions names it
`<Service in PascalCase>.<error code>Exception` (`SageMaker.ThrottlingException`), which is what Retry and
Catch match: the interpreter is given AWS's names. A Lambda task's error is `Lambda.<error code>` in moto (as in
LocalStack), but Step Functions names only the errors Lambda's Invoke API models so; any other, such as the
AccessDeniedException of a state machine role without lambda:InvokeFunction, is `Lambda.AWSLambdaException`
(the SDK's generic class), its code left in the cause: real executions show exactly that, e.g.
aws-samples/lambda-refarch-imagerecognition#19 and awslabs/aws-deployment-framework#460. It matters: the
template's Retry lists Lambda.AWSLambdaException, so AWS retries a denied invoke before the Catch.

moto parses a state machine's definition when it is created or updated, and twice for every execution (the
program, and the variable references it assigns), about 0.6 s of CPU for ours, which made up a tenth of the
fault suite. Both depend on the definition's
text alone, and no parsed component keeps state between evaluations (an execution's state lives in its own
Environment), so each definition is parsed once per process.

The interpreter also built a new boto3 client for every Lambda task and aws-sdk task it ran (about 50 ms of CPU
each, a twentieth of the test suite's CPU). A client depends only on the region, the service, where calls go
(moto's port, or its in-process interceptor) and the credentials it signs with, and clients are safe to share
between threads, so each of those is built once.

Step Functions calls Lambda and the other services with credentials of the state machine's role (or of the role a
Task's `Credentials` names); moto's interpreter signs with made-up keys. A local AWS registers its principals
under its port (`sign_interpreter_calls`): the interpreter calls the server on moto's port, so that server's
principals issue the credentials, and its IAM enforcement sees the role the calls come from.

moto judges S3 bucket policies itself, ignoring their Principal and their conditions' missing keys, so CDK's
enforceSSL statement would deny every object request: local_runtime.iam judges them instead (iam/s3_objects.py).
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core.models import botocore_stubber
from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import FakeEndpoint, FakeTrainingJob, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.settings import moto_server_port
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
    resource_eval_s3 as item_reader_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
    resource_eval_s3 as result_writer_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
    state_task_service_events,
    state_task_service_sfn,
    state_task_service_sns,
    state_task_service_sqs,
    state_task_service_unsupported,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
    StateTaskServiceLambda,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.static_analyser.variable_references_static_analyser import (
    VariableReferencesStaticAnalyser,
)
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from local_runtime import s3_conditional_writes, step_functions
from local_runtime.iam import s3_objects, simulate
from local_runtime.iam.principals import Credentials, Principals, opaque_session_name
from local_runtime.sagemaker import autoscaling, search
from local_runtime.sagemaker.autoscaling import instance_type_refusal, retain_variant_properties
from local_runtime.step_functions import sagemaker_tasks

# Definitions parsed once per process: a test session deploys a handful of distinct ones.
_PARSED_DEFINITIONS = 32
# Interpreter clients kept: a few services in a region or two, for each local server a process starts.
_INTERPRETER_CLIENTS = 64

# Step Functions' PascalCase service names (the AWS SDK for Java v2 client names) where capitalizing the first
# letter of the ARN's service name is not enough.
_SERVICE_ERROR_NAMES = {
    "acmpca": "AcmPca",
    "dynamodb": "DynamoDb",
    "eventbridge": "EventBridge",
    "sagemaker": "SageMaker",
    "secretsmanager": "SecretsManager",
    "sfn": "Sfn",
}

# CreateModel's Containers: an inference pipeline has two to fifteen containers (the API's maximum).
MAX_CONTAINERS = 15
_EXECUTION_MODES = ("Serial", "Direct")

_installed = False
# The principals of each running local AWS, by the port it listens on (what moto's interpreter calls).
_principals_by_port: dict[str, Principals] = {}
_principals_lock = threading.Lock()


def install() -> None:
    """Add the operations to moto; calling it again does nothing."""
    global _installed
    if _installed:
        return
    SageMakerModelBackend.update_endpoint = _backend_update_endpoint  # type: ignore[attr-defined]
    SageMakerModelBackend.stop_training_job = _backend_stop_training_job  # type: ignore[attr-defined]
    SageMakerResponse.update_endpoint = _response_update_endpoint  # type: ignore[attr-defined]
    SageMakerResponse.stop_training_job = _response_stop_training_job  # type: ignore[attr-defined]
    _keep_inference_execution_config()
    _omit_unset_fields()
    _reject_duplicates("create_model", "_models", "model_name", "Cannot create already existing model {arn}.")
    _reject_duplicates(
        "create_endpoint_config",
        "endpoint_configs",
        "endpoint_config_name",
        "Cannot create already existing endpoint configuration {arn}.",
    )
    _reject_duplicates(
        "create_training_job",
        "training_jobs",
        "training_job_name",
        "Training job names must be unique within an AWS account and region, and a training job with "
        "this name already exists ({arn})",
        in_use=True,
    )
    _keep_unchanged_model_package_fields()
    s3_objects.leave_bucket_policies_to_iam()
    simulate.install()
    step_functions.install()  # executions stopped and timed out as on AWS, their status-change events
    s3_conditional_writes.install()  # a conditional write's check and write are one step, as in S3
    autoscaling.install()  # RegisterScalableTarget moves a SageMaker variant's instance count into its range
    search.install()  # Search filters on nested properties (ModelArtifacts.S3ModelArtifacts), as the SDK sends
    StateTaskServiceAwsSdk._normalise_service_error_name = staticmethod(_service_error_name)  # type: ignore[method-assign,assignment]
    StateTaskServiceAwsSdk._normalise_exception_name = staticmethod(_exception_name)  # type: ignore[method-assign,assignment]
    global _lambda_error_and_cause
    _lambda_error_and_cause = StateTaskServiceLambda._error_cause_from_client_error
    StateTaskServiceLambda._error_cause_from_client_error = staticmethod(_lambda_task_error)  # type: ignore[method-assign,assignment]
    ExecutionWorker._get_evaluation_entrypoint = _parsed_program  # type: ignore[method-assign]
    StepFunctionsParserBackend._validate_definition = staticmethod(_validate_definition)  # type: ignore[method-assign,assignment]
    VariableReferencesStaticAnalyser.process_and_get = staticmethod(_variable_references)  # type: ignore[method-assign,assignment]
    # Every client the interpreter builds: Lambda invocations, aws-sdk integrations, the optimized integrations it
    # runs or forwards and ours for SageMaker, Map's S3 reader and writer. Each module imported the function.
    for module in (
        lambda_eval_utils,
        state_task_service_aws_sdk,
        state_task_service_unsupported,
        state_task_service_sfn,
        state_task_service_events,
        state_task_service_sns,
        state_task_service_sqs,
        item_reader_s3,
        result_writer_s3,
        sagemaker_tasks,
    ):
        module.__dict__["boto_client_for"] = _interpreter_client
    _installed = True


def _parsed_program(self: ExecutionWorker) -> EvalComponent:
    return _parse_program(self._evaluation_details.state_machine_details.definition)


@functools.lru_cache(maxsize=_PARSED_DEFINITIONS)
def _parse_program(definition: str) -> EvalComponent:
    program: EvalComponent = AmazonStateLanguageParser.parse(definition)[0]
    return program


_check_definition = StepFunctionsParserBackend._validate_definition


def _validate_definition(definition: str) -> None:
    """CreateStateMachine's and UpdateStateMachine's check, from the parse executions reuse: a deployment (and each
    test that creates a machine) parsed the same definition again, about 0.6 s of CPU each time."""
    try:
        _parse_program(definition)
    except Exception:
        _check_definition(definition)
        raise


_analyse_variable_references = VariableReferencesStaticAnalyser.process_and_get


def _variable_references(definition: str) -> Any:
    # A copy: the caller owns what it is given, as it did when every call analysed afresh.
    return copy.deepcopy(_cached_variable_references(definition))


@functools.lru_cache(maxsize=_PARSED_DEFINITIONS)
def _cached_variable_references(definition: str) -> Any:
    return _analyse_variable_references(definition)


def sign_interpreter_calls(port: int, principals: Principals | None) -> None:
    """Make the interpreter's calls to the local AWS on `port` sign with credentials `principals` issue for the
    state's role; None stops it (the server stopped). Without principals, calls sign as moto's do: the account's."""
    with _principals_lock:
        if principals is None:
            _principals_by_port.pop(str(port), None)
        else:
            _principals_by_port[str(port)] = principals


def _interpreter_client(region: str, service: str, state_credentials: Any = None) -> Any:
    """A client for a task, built once per credentials: signed by a session of the state's role when the local AWS
    the interpreter calls knows its principals."""
    intercepted, port = botocore_stubber.enabled, moto_server_port()
    credentials = None
    role_arn = getattr(state_credentials, "role_arn", None)
    if role_arn and not intercepted:
        with _principals_lock:
            principals = _principals_by_port.get(port)
        if principals is not None:
            credentials = principals.issue(role_arn, step_functions_session_name(role_arn))
    return _cached_interpreter_client(region, service, intercepted, port, credentials)


def step_functions_session_name(role_arn: str) -> str:
    """The session name of the state machine's role: Step Functions gives 32 letters of no meaning."""
    return opaque_session_name("states.amazonaws.com", role_arn)


@functools.lru_cache(maxsize=_INTERPRETER_CLIENTS)
def _cached_interpreter_client(
    region: str, service: str, intercepted: bool, port: str, credentials: Credentials | None
) -> Any:
    # moto reads whether calls are intercepted and the port when it builds the client: they are part of the key.
    if credentials is None:
        return _new_interpreter_client(region, service)
    # moto's settings (no client-side validation or retries: the ASL's Retry retries), signed by the session.
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        region_name=region,
        endpoint_url=f"http://localhost:{port}",
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
        ),
    )


_new_interpreter_client = boto_client.boto_client_for


def _service_error_name(service_name: str) -> str:
    lower = service_name.lower()
    return _SERVICE_ERROR_NAMES.get(lower, lower[:1].upper() + lower[1:])


def _exception_name(service_error_name: str, error: Exception) -> str:
    """`<Service>.<code>Exception`: the error code AWS answered, with the suffix Step Functions always adds."""
    code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
    name = f"{service_error_name}.{code or type(error).__name__}"
    return name if name.endswith("Exception") else name + "Exception"


_lambda_error_and_cause: Any = None  # moto's own, kept by install()


def _lambda_task_error(client_error: ClientError) -> tuple[str, str]:
    """A failed Lambda invoke's state error and cause as Step Functions gives them (see the module's docstring)."""
    error, cause = _lambda_error_and_cause(client_error)
    if error.removeprefix("Lambda.") not in _lambda_invoke_errors():
        error = "Lambda.AWSLambdaException"
    return str(error), str(cause)


@functools.cache
def _lambda_invoke_errors() -> frozenset[str]:
    """The error codes Lambda's Invoke API models (botocore's service model, which the SDKs are generated from)."""
    model = botocore.session.get_session().get_service_model("lambda").operation_model("Invoke")
    return frozenset(shape.name for shape in model.error_shapes)


def _backend_update_endpoint(
    self: Any,
    endpoint_name: str,
    endpoint_config_name: str,
    deployment_config: dict[str, Any] | None = None,
    retain: tuple[dict[str, Any], ...] | None = None,
) -> FakeEndpoint:
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    if endpoint.endpoint_status != "InService":
        raise ValidationError(
            message=f"Cannot update in-progress endpoint '{endpoint.arn}'."
            if endpoint.endpoint_status in ("Creating", "Updating", "SystemUpdating", "RollingBack")
            else f"Cannot update endpoint '{endpoint.arn}' in status {endpoint.endpoint_status}."
        )
    config = self.describe_endpoint_config(endpoint_config_name)  # raises ValidationError when absent
    refusal = instance_type_refusal(self, endpoint, self.endpoint_configs[endpoint_config_name])
    if refusal is not None:
        raise ValidationError(message=refusal)
    variants = endpoint._process_production_variants(config["ProductionVariants"])
    if retain is not None:
        variants = retain_variant_properties(endpoint.production_variants, variants, retain)
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = variants
    endpoint.failure_reason = None
    if deployment_config:
        # DescribeEndpoint's LastDeploymentConfig: the guardrails the latest update asked for.
        endpoint.last_deployment_config = deployment_config
    # moto stores naive UTC times; an aware one breaks its time filters on List calls.
    endpoint.last_modified_time = datetime.now(UTC).replace(tzinfo=None)
    return endpoint  # type: ignore[no-any-return]


def _backend_stop_training_job(self: Any, training_job_name: str) -> None:
    job = self.training_jobs.get(training_job_name)
    if job is None:
        arn = FakeTrainingJob.arn_formatter(training_job_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find training job '{arn}'.")
    if job.training_job_status not in ("InProgress", "Stopping"):
        raise ValidationError(message=f"The training job is in status {job.training_job_status}: it cannot be stopped.")
    job.training_job_status = "Stopped"
    job.secondary_status = "Stopped"


def _response_update_endpoint(self: Any) -> ActionResult:
    endpoint = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        deployment_config=self._get_param("DeploymentConfig"),
        retain=tuple(self._get_param("ExcludeRetainedVariantProperties") or ())
        if self._get_param("RetainAllVariantProperties")
        else None,
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def _response_stop_training_job(self: Any) -> EmptyResult:
    self.sagemaker_backend.stop_training_job(self._get_param("TrainingJobName"))
    return EmptyResult()


def _keep_inference_execution_config() -> None:
    """CreateModel checks Containers and InferenceExecutionConfig as SageMaker does and stores the latter."""
    original = SageMakerResponse.create_model

    def create_model(self: Any) -> ActionResult:
        containers = self._get_param("Containers") or []
        config = self._get_param("InferenceExecutionConfig")
        if len(containers) > MAX_CONTAINERS:
            raise ValidationError(
                message=f"1 validation error detected: Value at 'containers' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_CONTAINERS}"
            )
        if config is not None and config.get("Mode") not in _EXECUTION_MODES:
            raise ValidationError(
                message=f"1 validation error detected: Value '{config.get('Mode')}' at "
                f"'inferenceExecutionConfig.mode' failed to satisfy constraint: Member must satisfy enum value "
                f"set: [{', '.join(_EXECUTION_MODES)}]"
            )
        result = original(self)
        if config is not None:
            # An attribute of moto's model appears in DescribeModel under its CamelCase name.
            self.sagemaker_backend._models[self._get_param("ModelName")].inference_execution_config = config
        return result

    SageMakerResponse.create_model = create_model  # type: ignore[method-assign]


# What DescribeModel, DescribeEndpointConfig and DescribeEndpoint leave out when it was not given, as SageMaker does;
# moto answers `{}` or `[]`. The API references list them as optional members of the responses, with required
# members of their own (VpcConfig: SecurityGroupIds and Subnets; DataCaptureConfig: DestinationS3Uri and the
# sampling percentage; DataCaptureConfigSummary: EnableCapture, CaptureStatus, ...): the SageMaker Python SDK v3
# (sagemaker-core) validates the responses and rejected moto's, failing ModelBuilder.build() and deploy().
_OMITTED_WHEN_UNSET = (
    ("describe_model", ("VpcConfig", "Containers")),
    ("describe_endpoint_config", ("DataCaptureConfig",)),
    ("describe_endpoint", ("DataCaptureConfig",)),
)


def _omit_unset_fields() -> None:
    """The Describe calls of models, endpoint configs and endpoints leave out what they were not given.

    In the answer only: moto's own code reads the descriptions it stores (CreateEndpoint reads its config's).
    """
    for action, names in _OMITTED_WHEN_UNSET:
        setattr(SageMakerResponse, action, _without_empty(getattr(SageMakerResponse, action), names))


def _without_empty(original: Callable[[Any], ActionResult], names: tuple[str, ...]) -> Callable[[Any], ActionResult]:
    def describe(self: Any) -> ActionResult:
        result = original(self).result
        assert isinstance(result, dict)
        return ActionResult({k: v for k, v in result.items() if k not in names or v})

    return describe


def _keep_unchanged_model_package_fields() -> None:
    """UpdateModelPackage changes only what it is given, as SageMaker does; moto clears the fields not given.

    Approving a version must not erase its metadata (which data trained it) or its approval status.
    """
    original = SageMakerModelBackend.update_model_package

    def update(
        self: Any,
        model_package_arn: str,
        model_approval_status: str | None,
        approval_description: str | None,
        customer_metadata_properties: dict[str, str] | None,
        *args: Any,
        **kwargs: Any,
    ) -> str:
        name = self.model_package_name_mapping.get(model_package_arn, model_package_arn)
        package = self.model_packages.get(name)
        if package is not None:
            model_approval_status = model_approval_status or package.model_approval_status
            if approval_description is None:
                approval_description = package.approval_description
            customer_metadata_properties = {
                **(package.customer_metadata_properties or {}),
                **(customer_metadata_properties or {}),
            }
        return original(  # type: ignore[no-any-return]
            self,
            model_package_arn,
            model_approval_status,
            approval_description,
            customer_metadata_properties,
            *args,
            **kwargs,
        )

    SageMakerModelBackend.update_model_package = update  # type: ignore[method-assign]


def _reject_duplicates(method: str, store: str, name_argument: str, message: str, in_use: bool = False) -> None:
    """Make a create call fail on an existing name as SageMaker does; moto overwrites silently."""
    original = getattr(SageMakerModelBackend, method)

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get(name_argument, args[0] if args else None)
        existing = getattr(self, store).get(name)
        if existing is not None:
            text = message.format(arn=getattr(existing, "arn", name))
            raise ResourceInUseException(text) if in_use else ValidationError(message=text)
        return original(self, *args, **kwargs)

    setattr(SageMakerModelBackend, method, create)
