"""The local AWS: moto in server mode on a loopback port, with Lambda invocations run in-process.

Step Functions executions really run their definition with moto's interpreter, which calls Lambda and
aws-sdk integrations at http://localhost:$MOTO_PORT: this server, so they reach the functions registered here.
EventBridge rules deliver to those functions and to state machines through local_runtime.event_bus, and
EventBridge Scheduler's one-time schedules start executions when due through local_runtime.scheduler.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from moto.core import config as moto_config
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sagemaker.models import sagemaker_backends
from werkzeug.serving import BaseWSGIServer, make_server

from contract.outputs import ENDPOINT_NAME, stack_name
from local_runtime import faults_api, jumpstart, moto_extensions
from local_runtime.cloudwatch import AlarmClock, publish_metrics
from local_runtime.event_bus import EventBus
from local_runtime.faults import Faults
from local_runtime.iam.enforce import IamEnforcement
from local_runtime.iam.principals import Principals
from local_runtime.lambda_invoke import INVOKE_PATH, LocalFunction, LocalLambda
from local_runtime.sagemaker.api import SageMakerApiError, SageMakerEmulator
from local_runtime.sagemaker.lineage import LineageStore
from local_runtime.scheduler import LocalScheduler
from operator_cli.target import STACKS_PATH  # the deployed stacks' outputs (moto has no stack for them)

FAULTS_PATH = "/_local/faults"  # the runtime's faults over HTTP: see local_runtime.faults
INVOKE_ENDPOINT_PATH = re.compile(r"^/endpoints/(?P<endpoint>[^/]+)/invocations/?$")
_REGION_IN_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/")
_ACCESS_KEY_IN_CREDENTIAL = re.compile(r"Credential=(?P<key>[^/]+)/")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class LocalAws:
    """A threaded server: a handler calling AWS from inside an invocation needs a second thread free."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        sagemaker: SageMakerEmulator | None = None,
        faults: Faults | None = None,
        events: EventBus | None = None,
        enforce_iam: bool = False,
        time_scale: float = 1.0,
    ) -> None:
        """Without `sagemaker`, moto answers SageMaker calls (everything completes at once).

        With `enforce_iam`, S3 and SSM requests signed by a role session (a deployed function's) are authorized
        against the identity policies of that role, added by `iam.add_roles` (see local_runtime.iam.enforce).

        `faults` (see local_runtime.faults) is where tests arm throttling, crashes and AWS errors; give the
        SageMaker emulator the same object for its training faults. `events` delivers what EventBridge rules
        match to the functions registered here and to state machines (see local_runtime.event_bus).

        The functions' EMF lines become metrics in the local CloudWatch, and the alarms on them are evaluated once a
        minute of local time, `time_scale` seconds per second of AWS time (see local_runtime.cloudwatch).
        """
        self.host = host
        self.port = port or _free_port()
        self.faults = faults or Faults()
        # Calls of the JSON-protocol APIs by X-Amz-Target ("SageMaker.UpdateEndpoint"), faulted ones included:
        # how a test tells that a retried step did not ask twice.
        self.api_calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()
        # The role sessions whose credentials the functions run with: their access key ids name their roles.
        self.principals = Principals()
        self.enforce_iam = enforce_iam
        self.iam = IamEnforcement(self.principals)
        self.functions = LocalLambda(
            endpoint_url=f"http://{host}:{self.port}",
            faults=self.faults,
            principals=self.principals,
            metrics=publish_metrics,
        )
        self.alarm_clock = AlarmClock(time_scale=time_scale)
        self.sagemaker = sagemaker
        self.events = events or EventBus()
        self.events.bind(self.functions, self.endpoint_url, principals=self.principals)
        self.scheduler = LocalScheduler()
        self.scheduler.bind(self.endpoint_url, principals=self.principals)
        # moto has no SageMaker Lineage at all: answered here whether or not SageMaker itself is emulated.
        self.lineage = LineageStore()
        # Stack name -> its outputs, as CloudFormation's DescribeStacks would answer them on AWS.
        self.stacks: dict[str, dict[str, str]] = {}
        # Clients of this server by (service, region), see local_runtime.deploy.client: built under the lock.
        self.clients: dict[tuple[str, str], Any] = {}
        self.clients_lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._previous_moto_port: str | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def register_function(self, function: LocalFunction) -> None:
        self.functions.register(function)

    def start(self) -> LocalAws:
        # moto keeps its state per process: a new local AWS starts empty, as a fresh account would.
        moto_api_backend.reset()
        moto_extensions.install()
        moto_config.default_user_config["stepfunctions"] = {"execute_state_machine": True}
        # moto's interpreter calls Lambda and the aws-sdk integrations on localhost:$MOTO_PORT. stop() gives the
        # variable back: a server started and stopped inside another's lifetime must not leave it on a closed port.
        self._previous_moto_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(self.port)
        # The state machines' calls (moto's interpreter, on MOTO_PORT) sign as their roles' sessions issued here.
        moto_extensions.sign_interpreter_calls(self.port, self.principals)
        if self.sagemaker is not None:
            self.sagemaker.bind(self.endpoint_url, principals=self.principals)
        self.events.attach()
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self.host, self.port, self._wsgi(app), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-aws", daemon=True)
        self._thread.start()
        self.scheduler.start()
        self.alarm_clock.start()
        return self

    def stop(self) -> None:
        self.alarm_clock.stop()
        self.scheduler.stop()
        self.events.detach()
        if self.sagemaker is not None:
            self.sagemaker.shutdown()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            moto_extensions.sign_interpreter_calls(self.port, None)
            if os.environ.get("MOTO_PORT") == str(self.port):
                if self._previous_moto_port is None:
                    os.environ.pop("MOTO_PORT", None)
                else:
                    os.environ["MOTO_PORT"] = self._previous_moto_port

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _wsgi(self, moto_app: Any) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
        def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            if environ.get("PATH_INFO", "").rstrip("/") == "/moto-api/reset":
                self.lineage.reset()  # and moto resets its own backends
            own = self._own_answer(environ, start_response)
            if own is not None:
                return own
            target = environ.get("HTTP_X_AMZ_TARGET")
            if target:
                with self._calls_lock:
                    self.api_calls[target] += 1
            denial = self.iam.check(environ) if self.enforce_iam else None
            if denial is not None:
                start_response(_status_line(denial.status), [*denial.headers, ("x-amzn-RequestId", _request_id())])
                return [] if environ.get("REQUEST_METHOD") == "HEAD" else [denial.body]
            error = self.faults.api_error(target) if target else None
            if error is not None:
                _read_body(environ)  # a client that still sends its body must not see the connection reset
                status, headers, body = error.response(_request_id())
                start_response(_status_line(status), headers)
                return [body]
            match = INVOKE_PATH.match(environ.get("PATH_INFO", ""))
            if environ.get("REQUEST_METHOD") == "POST" and match:
                function = self.functions.find(match["function"])
                if function is not None:
                    length = int(environ.get("CONTENT_LENGTH") or 0)
                    signed = _ACCESS_KEY_IN_CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
                    result = self.functions.invoke(
                        function, environ["wsgi.input"].read(length), caller=signed["key"] if signed else None
                    )
                    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", _request_id())]
                    if result.error_type:
                        headers.append(("x-amzn-ErrorType", result.error_type))
                    else:
                        headers.append(("X-Amz-Executed-Version", "$LATEST"))
                    if result.function_error:
                        headers.append(("X-Amz-Function-Error", result.function_error))
                    start_response(_status_line(result.status), headers)
                    return [result.body]
            if target and target.startswith("SageMaker.") and self.lineage.handles(target.split(".", 1)[1]):
                return self._lineage(environ, start_response, target.split(".", 1)[1])
            if self.sagemaker is not None:
                answered = self._sagemaker(environ, start_response, moto_app, self.sagemaker)
                if answered is not None:
                    return answered
            response: Iterable[bytes] = moto_app(environ, start_response)
            return response

        return app

    def _own_answer(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes] | None:
        """The runtime's own APIs (faults, stacks) and its refusal of AWS's own content; None for the rest."""
        if environ.get("PATH_INFO", "").rstrip("/") == FAULTS_PATH:
            return self._faults_api(environ, start_response)
        if environ.get("PATH_INFO", "").startswith(STACKS_PATH):
            return self._stacks_api(environ, start_response)
        unavailable = jumpstart.refusal(environ)  # JumpStart's buckets have no local copy: said in one line
        if unavailable is not None:
            status_line, headers, body = unavailable
            start_response(status_line, [*headers, ("x-amzn-RequestId", _request_id())])
            return [body]
        return None

    def _faults_api(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """GET lists the scripted faults, POST {"fault": <method>, ...arguments} scripts one, DELETE clears."""
        body = _read_body(environ) if environ.get("REQUEST_METHOD") == "POST" else b""
        status, answer = faults_api.answer(self.faults, str(environ.get("REQUEST_METHOD")), body, self.fault_targets)
        start_response(_status_line(status), [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]

    def fault_targets(self) -> faults_api.KnownTargets:
        """The functions registered here, and the endpoints, models and pipelines that exist, for the faults API."""
        endpoints = {outputs[ENDPOINT_NAME] for outputs in self.stacks.values() if ENDPOINT_NAME in outputs}
        models: set[str] = set()
        for regions in list(sagemaker_backends.values()):
            for backend in list(regions.values()):
                endpoints.update(backend.endpoints)
                models.update(backend._models)
        prefix = stack_name("")
        return faults_api.KnownTargets(
            functions=[(function.name, function.arn) for function in self.functions.registered()],
            endpoints=sorted(endpoints),
            models=sorted(models),
            pipelines=sorted(name.removeprefix(prefix) for name in self.stacks if name.startswith(prefix)),
        )

    def _lineage(self, environ: Environ, start_response: StartResponse, action: str) -> Iterable[bytes]:
        try:
            answer = self.lineage.handle(action, _region(environ), json.loads(_read_body(environ) or b"{}"))
        except SageMakerApiError as error:
            return _json_error(start_response, error)
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
        return [json.dumps(answer, default=str).encode()]

    def _stacks_api(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """GET /_local/stacks lists the deployed stacks' outputs; GET /_local/stacks/<name> answers one."""
        name = environ.get("PATH_INFO", "")[len(STACKS_PATH) :].strip("/")
        status, answer = 200, dict[str, Any]()
        if environ.get("REQUEST_METHOD") != "GET":
            status, answer = 405, {"message": "only GET is supported"}
        elif not name:
            answer = {"stacks": [{"name": n, "outputs": o} for n, o in sorted(self.stacks.items())]}
        elif name in self.stacks:
            answer = {"name": name, "outputs": self.stacks[name]}
        else:
            status = 404
            answer = {
                "message": f"stack {name} is not deployed here; deployed: {', '.join(sorted(self.stacks)) or 'none'}"
            }
        start_response(_status_line(status), [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]

    def _sagemaker(
        self, environ: Environ, start_response: StartResponse, moto_app: Any, emulator: SageMakerEmulator
    ) -> Iterable[bytes] | None:
        """Route SageMaker and sagemaker-runtime calls through the emulator; None leaves the request to moto."""
        region = _region(environ)
        path = environ.get("PATH_INFO", "")
        invocation = INVOKE_ENDPOINT_PATH.match(path)
        if environ.get("REQUEST_METHOD") == "POST" and invocation:
            body = _read_body(environ)
            try:
                result = emulator.invoke_endpoint(
                    region,
                    invocation["endpoint"],
                    body,
                    environ.get("CONTENT_TYPE", "application/octet-stream"),
                    environ.get("HTTP_ACCEPT", "*/*"),
                )
            except SageMakerApiError as error:
                return _json_error(start_response, error)
            start_response(f"{result.status} OK", [("Content-Type", result.content_type)])
            return [result.body]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("SageMaker."):
            return None
        action = target.split(".", 1)[1]
        body = _read_body(environ)
        params = json.loads(body or b"{}")
        if emulator.handles(action):
            try:
                answer = emulator.handle(action, region, params)
            except SageMakerApiError as error:
                return _json_error(start_response, error)
            start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
            return [json.dumps(answer, default=str).encode()]
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again
        status: list[str] = []

        def capture(code: str, headers: Any, *args: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *args)

        chunks = list(moto_app(environ, capture))
        if status and status[0].startswith("200"):
            emulator.after(action, region, params)
        return chunks


_request_ids = itertools.count(1)


def _request_id() -> str:
    return f"00000000-0000-4000-8000-{next(_request_ids):012d}"


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Error"


def _read_body(environ: Environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    return body


def _region(environ: Environ) -> str:
    match = _REGION_IN_CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match["region"] if match else os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def _json_error(start_response: StartResponse, error: SageMakerApiError) -> Iterable[bytes]:
    start_response(f"{error.status} Error", [("Content-Type", "application/x-amz-json-1.1")])
    return [json.dumps({"__type": error.code, "message": error.message}).encode()]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
