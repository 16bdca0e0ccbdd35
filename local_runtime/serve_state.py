"""What `serve --state-dir` and `serve --watch` add to the serve command: its state kept, its app redeployed.

The command (local_runtime.cli) calls, in order: `ServedState.restored` once the local AWS is up, `deployed` after
the first deployment, `tick` from its wait loop, and `stop` when it stops.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_runtime import state_dir
from local_runtime.deploy import DeployedPipeline
from local_runtime.state_dir.autosave import DEFAULT_SAVE_INTERVAL_SECONDS, AutoSave
from local_runtime.watch import DEFAULT_DEBOUNCE_SECONDS, Redeployer, SourceWatcher, watched_paths
from operator_cli.commands.common import UsageError
from operator_cli.progress import Console
from stacks.paths import PROJECT_ROOT

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

Deploy = Callable[[Mapping[str, Any]], list[DeployedPipeline]]
Synthesize = Callable[[], "dict[str, Any] | int"]


def add_serve_state_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help="keep the local AWS's state in DIR across restarts: restored at start, saved every --save-interval "
        "seconds and at Ctrl-C/SIGTERM (S3, SSM, secrets, SageMaker, lineage, executions)",
    )
    parser.add_argument(
        "--save-interval",
        type=_positive_seconds,
        default=DEFAULT_SAVE_INTERVAL_SECONDS,
        metavar="SECONDS",
        help=f"with --state-dir: seconds between saves (default {DEFAULT_SAVE_INTERVAL_SECONDS:g})",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="re-synthesize and redeploy in place when cdk.json, the config file, stacks/, lambdas/ or statemachine/ "
        "change, keeping data, parameters, the registry and endpoints",
    )


class ServedState:
    def __init__(self, runtime: LocalRuntime, console: Console, directory: Path | None, args: argparse.Namespace):
        self._runtime = runtime
        self._console = console
        self._autosave = (
            AutoSave(runtime.aws, directory, interval_seconds=args.save_interval, say=console.line)
            if directory is not None
            else None
        )
        self._watcher = (
            SourceWatcher(watched_paths(PROJECT_ROOT, args.config_file), debounce_seconds=DEFAULT_DEBOUNCE_SECONDS)
            if args.watch
            else None
        )
        self._redeployer: Redeployer | None = None
        self._restored: state_dir.RestoreReport | None = None

    @classmethod
    def restored(cls, runtime: LocalRuntime, args: argparse.Namespace, console: Console) -> ServedState:
        """The state saved in --state-dir put back into the started runtime (nothing without --state-dir)."""
        directory = Path(args.state_dir).resolve() if args.state_dir else None
        if directory is not None:
            try:
                report = state_dir.restore(runtime.aws, directory, start_endpoints=False)
            except state_dir.StateFormatError as error:
                raise UsageError(f"--state-dir: {error}") from None
            console.line(f"Restored the {report.summary()}" if report else f"State: none yet in {directory}")
            served = cls(runtime, console, directory, args)
            served._restored = report
            return served
        return cls(runtime, console, directory, args)

    def deployed(self, deploy: Deploy, pipelines: list[DeployedPipeline]) -> None:
        """The first deployment is done: the restored endpoints serve again, the state is saved, then periodically;
        the sources are watched."""
        if self._restored is not None:
            state_dir.start_serving(self._runtime.aws, self._restored)
        if self._autosave is not None:
            self._autosave.save()
            self._autosave.start()
        if self._watcher is not None:
            self._redeployer = Redeployer(deploy=deploy, put_parameter=self._put_parameter, pipelines=pipelines)
            self._console.line("Watching cdk.json, the config file, stacks/, lambdas/ and statemachine/ for changes.")

    def tick(self, synthesize: Synthesize) -> None:
        """From the serve loop: redeploy if the sources changed and settled."""
        if self._watcher is None or self._redeployer is None or not self._watcher.poll():
            return
        self._console.line("Change seen: synthesizing the CDK app again...")
        templates = synthesize()
        if isinstance(templates, int):
            self._console.line("Synth failed (above): the previous deployment keeps serving.")
            return
        for line in self._redeployer.redeploy(templates):
            self._console.line(f"Redeployed {line}")
        if self._autosave is not None:
            self._autosave.save()

    def stop(self) -> None:
        if self._autosave is not None:
            self._autosave.stop()

    def _put_parameter(self, name: str, value: str) -> None:
        self._runtime.client("ssm").put_parameter(Name=name, Value=value, Type="String", Overwrite=True)


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {value!r}") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return seconds
