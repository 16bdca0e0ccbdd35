"""The local runtime as one object: the AWS APIs, SageMaker for real, a Slack server, and deployed pipelines."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_runtime.deploy import DeployedPipeline, client, deploy
from local_runtime.event_bus import EventBus
from local_runtime.faults import Faults
from local_runtime.iam.roles import TemplateRole, read_roles
from local_runtime.iam.usage import GRANT_USAGE
from local_runtime.sagemaker.emulator import LocalSageMaker
from local_runtime.sagemaker.serverless import DEFAULT_SERVERLESS_IDLE_SECONDS
from local_runtime.server import LocalAws
from local_runtime.template import FILE_ASSETS_METADATA, read_stack

if TYPE_CHECKING:
    from types_boto3_secretsmanager import SecretsManagerClient

    from local_runtime.fault_records import SlackFaults


DEFAULT_REGION = "us-east-1"
LOCAL_POLL_INTERVAL_SECONDS = "1"
# The local time scale of the state machine's retries: 1 s first, backoff capped at 2 s (the template's Retry
# waits 2 s, doubling up to 60 s); every attempt still happens. See deploy.compress_retries.
LOCAL_RETRY_MAX_DELAY_SECONDS = 2
# The local time scale of a guarded rollout (UpdateEndpoint's DeploymentConfig): a minute of AWS time takes a
# second, for baking periods, the termination wait, the execution timeout and the rollback alarms' periods alike,
# so a 5-minute canary bake takes 5 s and its alarms still see one-"minute" periods of several invocations.
LOCAL_TIME_SCALE = 1 / 60
LOCAL_SLACK_TOKEN = "xoxb-local-runtime"  # what the local Slack server accepts; never a real token
SLACK_TOKEN_VARIABLE = "SLACK_BOT_TOKEN"  # set it (and optionally SLACK_CHANNEL) to post to real Slack
SLACK_CHANNEL_VARIABLE = "SLACK_CHANNEL"
# The Lambdas log JSON to stdout (Powertools): fine in CloudWatch, noise here. Their metrics (EMF lines) stay on:
# the local runtime puts them into its CloudWatch, never on the terminal (local_runtime.function_output).
QUIET_FUNCTIONS = {"POWERTOOLS_LOG_LEVEL": "ERROR"}


IAM_VARIABLE = "LOCAL_RUNTIME_IAM"  # "off": the local runtime lets every call through unless told otherwise


def iam_enforced_by_default() -> bool:
    """Whether a local runtime enforces IAM when not told: yes, unless LOCAL_RUNTIME_IAM is "off" (how
    bench.iam_overhead times the test suite without it)."""
    return os.environ.get(IAM_VARIABLE, "on").strip().lower() != "off"


@dataclass
class SlackTarget:
    """Where NotifySlack posts: a local Slack-compatible server, or real Slack when a token is given.

    `local_server` (a LocalSlackApi at `api_url`) makes its faults scriptable through the runtime's faults, in
    Python and over HTTP (`rate_limit`, `reject_token`, `delay`).
    """

    api_url: str | None
    token: str
    local_server: SlackFaults | None = None


@dataclass
class LocalRuntime:
    """Start it, deploy synthesized stacks into it, then drive executions with boto3 or the helpers in deploy.py."""

    port: int = 0
    region: str = DEFAULT_REGION
    workdir: Path | None = None
    emulate_sagemaker: bool = True
    # The deployed roles' calls authorized against their policies, as IAM does (local_runtime.iam); on by default, as
    # on AWS: a grant missing from the template must fail here first. LOCAL_RUNTIME_IAM=off changes the default.
    enforce_iam: bool = field(default_factory=lambda: iam_enforced_by_default())
    # AWS seconds a serverless endpoint idles before its worker stops (5 local seconds on the runtime's time scale)
    serverless_idle_seconds: float = DEFAULT_SERVERLESS_IDLE_SECONDS
    aws: LocalAws = field(init=False)

    def __post_init__(self) -> None:
        # jsii's banner about Node versions and moto's dump of every failed state drown the useful output.
        silence_jsii()
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        faults = Faults()
        sagemaker = (
            LocalSageMaker(
                self.workdir,
                faults=faults,
                time_scale=LOCAL_TIME_SCALE,
                serverless_idle_seconds=self.serverless_idle_seconds,
            )
            if self.emulate_sagemaker
            else None
        )
        self.aws = LocalAws(
            port=self.port,
            sagemaker=sagemaker,
            faults=faults,
            enforce_iam=self.enforce_iam,
            time_scale=LOCAL_TIME_SCALE,
        )
        self.aws.iam.usage = GRANT_USAGE  # the report of grants in use counts every deployment of the process

    def __enter__(self) -> LocalRuntime:
        self.aws.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.aws.stop()

    @property
    def endpoint_url(self) -> str:
        return self.aws.endpoint_url

    @property
    def faults(self) -> Faults:
        """Throttling, crashes, AWS errors, failing jobs and Slack's faults on request (see local_runtime.faults)."""
        return self.aws.faults

    @property
    def events(self) -> EventBus:
        """EventBridge delivery: events matching the rules reach Lambda functions and state machines."""
        return self.aws.events

    def client(self, service: str) -> Any:
        """A boto3 client for the local AWS."""
        return client(self.aws, service, self.region)

    def deploy_template(
        self,
        template: Mapping[str, Any],
        *,
        stack_name: str,
        slack: SlackTarget | None = None,
        function_environment: Mapping[str, str] | None = None,
    ) -> DeployedPipeline:
        """Create what the synthesized template describes; only local values replace the template's.

        The poll interval becomes a second, the retries' waits a second or two, and NotifySlack talks to
        `slack` (the secret the template names is created holding its token; its local server, if given, is where
        the Slack faults act). With `enforce_iam`, the template's roles and their policies are what the functions'
        calls are authorized against.
        """
        stack = read_stack(template, stack_name=stack_name, region=self.region)
        roles = read_roles(template, stack_name=stack_name, region=self.region)
        _create_roles(self.client("iam"), roles.values())  # as CloudFormation would: `aws iam get-role` finds them
        if self.enforce_iam:
            self.aws.iam.add_roles(roles.values())
        overrides: dict[str, str] = {"POLL_INTERVAL_SECONDS": LOCAL_POLL_INTERVAL_SECONDS}
        if slack is not None:
            if slack.local_server is not None:
                self.faults.attach_slack(slack.local_server)
            if slack.api_url:
                overrides["SLACK_API_URL"] = slack.api_url
            secrets = self.client("secretsmanager")
            for function in stack.functions.values():
                secret_name = function.environment.get("SLACK_TOKEN_SECRET_NAME")
                if secret_name:
                    _put_secret(secrets, secret_name, slack.token)
        overrides.update(function_environment or {})
        return deploy(
            self.aws, stack, function_environment=overrides, retry_max_delay_seconds=LOCAL_RETRY_MAX_DELAY_SECONDS
        )


def synthesize(context: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Synthesize the CDK app in-process (assets are not bundled: the functions run from this tree).

    Returns each stack's template by stack name. `context` is added to cdk.json's.
    """
    from app import build_app, cdk_json_context  # the app lives at the project root

    silence_jsii()
    full_context = {**cdk_json_context(), "aws:cdk:bundling-stacks": [], **(context or {})}
    assembly = build_app(full_context).synth()
    templates = {}
    for stack in assembly.stacks:
        template = dict(stack.template)
        assets = file_assets(Path(assembly.directory), stack.id)
        if assets:
            template["Metadata"] = {**template.get("Metadata", {}), FILE_ASSETS_METADATA: assets}
        templates[stack.stack_name] = template
    return templates


def file_assets(assembly_dir: Path, artifact_id: str) -> list[dict[str, str]]:
    """The stack's file assets from its asset manifest: not its Lambda code (zip assets, which run from this tree)
    nor the template itself (which the local runtime reads directly)."""
    manifest = assembly_dir / f"{artifact_id}.assets.json"
    if not manifest.is_file():
        return []
    assets = []
    for entry in json.loads(manifest.read_text()).get("files", {}).values():
        source = entry.get("source", {})
        if source.get("packaging") != "file" or source.get("path", "").endswith(".template.json"):
            continue
        for destination in entry.get("destinations", {}).values():
            # The content, not the path: the assembly is a temporary directory that may be gone (or in another
            # process, for `serve`) by the time the stack is deployed.
            body = (assembly_dir / source["path"]).read_bytes()
            assets.append(
                {
                    "bucket": destination["bucketName"],
                    "key": destination["objectKey"],
                    "body_base64": base64.b64encode(body).decode(),
                }
            )
    return assets


def silence_jsii() -> None:
    """Keep jsii's banner about the Node release (printed by every synth) out of the terminal."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    if "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION" not in os.environ:
        # This one is silenced per major release only: name the one installed.
        node = shutil.which("node")
        if node:
            version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
            os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = version.strip().lstrip("v").split(".")[0]


def _create_roles(iam: Any, roles: Iterable[TemplateRole]) -> None:
    """The template's roles and their inline and attached policies in the local IAM, for IAM's read APIs; a role
    that exists (a stack deployed again) gets its policies put again. Enforcement judges from the template itself.
    """
    for role in roles:
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(role.trust_policy))
        for policy in role.policies:
            # Managed policies of the template become inline ones here: the documents are what IAM evaluates.
            iam.put_role_policy(RoleName=role.name, PolicyName=policy.name, PolicyDocument=json.dumps(policy.document))


def _put_secret(secrets: SecretsManagerClient, name: str, value: str) -> None:
    try:
        secrets.create_secret(Name=name, SecretString=value)
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=name, SecretString=value)
