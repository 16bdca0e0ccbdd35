"""The local AWS: moto in server mode on a loopback port, with Lambda invocations run in-process.

Step Functions executions really run their definition with moto's interpreter, which calls Lambda and
aws-sdk integrations at http://localhost:$MOTO_PORT: this server, so they reach the functions registered here.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.core import config as moto_config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from local_runtime import moto_extensions
from local_runtime.lambda_invoke import INVOKE_PATH, LocalFunction, LocalLambda

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class LocalAws:
    """A threaded server: a handler calling AWS from inside an invocation needs a second thread free."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or _free_port()
        self.functions = LocalLambda()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def register_function(self, function: LocalFunction) -> None:
        self.functions.register(function)

    def start(self) -> LocalAws:
        moto_extensions.install()
        moto_config.default_user_config["stepfunctions"] = {"execute_state_machine": True}
        # moto's interpreter calls Lambda and the aws-sdk integrations on localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self.host, self.port, self._wsgi(app), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-aws", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _wsgi(self, moto_app: Any) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
        def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            match = INVOKE_PATH.match(environ.get("PATH_INFO", ""))
            if environ.get("REQUEST_METHOD") == "POST" and match:
                function = self.functions.find(match["function"])
                if function is not None:
                    length = int(environ.get("CONTENT_LENGTH") or 0)
                    result = self.functions.invoke(function, environ["wsgi.input"].read(length))
                    headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
                    if result.function_error:
                        headers.append(("X-Amz-Function-Error", result.function_error))
                    start_response(f"{result.status} OK", headers)
                    return [result.body]
            response: Iterable[bytes] = moto_app(environ, start_response)
            return response

        return app


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
