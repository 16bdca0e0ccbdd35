"""`serve --watch`: redeploy in place when the app's configuration or code changes, as `cdk deploy` of an update.

The watcher polls modification times (no dependency, no inotify): cdk.json, the config file, and every file under
stacks/, lambdas/ and statemachine/. A change starts a quiet period (`debounce_seconds`, an editor saving several
files at once is one change); then the app is synthesized again and each stack deployed over the running one.

What a redeploy does, as CloudFormation would on an update of the same stack:
- functions: their environment and code are the new ones (the `lambdas` modules are imported afresh at their next
  invocation); new functions are created;
- the state machine's definition is updated (executions under way keep the definition they started with);
- new buckets, parameters, alarms and rules are created; a parameter whose value in the template changed takes the
  new value (CloudFormation updates it); one whose template value did not change keeps what the workflow wrote
  (the watermark);
- data, the model registry, models and endpoints are not touched.
Left in place: functions, parameters and stacks removed from the app (CloudFormation would delete them), and roles'
policies removed from the template (new ones are added).
A synth that fails is printed, and the previous deployment keeps serving.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_runtime.deploy import DeployedPipeline

WATCHED_DIRECTORIES = ("stacks", "lambdas", "statemachine")
WATCHED_FILES = ("cdk.json", "app.py")
DEFAULT_DEBOUNCE_SECONDS = 1.0
_IGNORED_PARTS = frozenset({"__pycache__", "cdk.out", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


def watched_paths(root: Path, config_file: str | None) -> list[Path]:
    paths = [root / name for name in (*WATCHED_FILES, *WATCHED_DIRECTORIES)]
    if config_file:
        # As the app reads it: relative to the project root, else to where serve runs.
        given = Path(config_file)
        paths.append(root / given if given.is_absolute() or (root / given).exists() else given.resolve())
    return paths


class SourceWatcher:
    """Tells when the watched files changed and then stayed unchanged for `debounce_seconds`."""

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        debounce_seconds: float = DEFAULT_DEBOUNCE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._paths = list(paths)
        self._debounce = debounce_seconds
        self._clock = clock
        self._seen = self._scan()
        self._changed_at: float | None = None

    def poll(self) -> bool:
        """True once per settled change."""
        current = self._scan()
        if current != self._seen:
            self._seen, self._changed_at = current, self._clock()
            return False
        if self._changed_at is not None and self._clock() - self._changed_at >= self._debounce:
            self._changed_at = None
            return True
        return False

    def _scan(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for path in self._paths:
            for file in _files(path):
                try:
                    found[str(file)] = file.stat().st_mtime_ns
                except FileNotFoundError:  # removed between the listing and the stat: seen at the next poll
                    continue
        return found


def _files(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
    elif path.is_dir():
        for file in path.rglob("*"):
            if file.is_file() and not _IGNORED_PARTS.intersection(file.parts) and file.suffix != ".pyc":
                yield file


@dataclass
class Redeployer:
    """Deploys new templates over `pipelines` with `deploy`, and says what changed."""

    deploy: Callable[[Mapping[str, Any]], list[DeployedPipeline]]
    put_parameter: Callable[[str, str], None]  # (name, value), overwriting
    pipelines: list[DeployedPipeline] = field(default_factory=list)

    def redeploy(self, templates: Mapping[str, Any]) -> list[str]:
        """Deploy `templates` in place; a line per change, for the terminal."""
        forget_modules("lambdas")
        before = {pipeline.stack.name: pipeline for pipeline in self.pipelines}
        after = self.deploy(templates)
        lines = []
        for pipeline in after:
            previous = before.pop(pipeline.stack.name, None)
            if previous is None:
                lines.append(f"stack {pipeline.stack.name}: created")
                continue
            for name, value in pipeline.stack.parameters.items():
                if previous.stack.parameters.get(name, value) != value:
                    self.put_parameter(name, value)
            lines.append(f"stack {pipeline.stack.name}: {describe_changes(previous, pipeline)}")
        for name in before:
            lines.append(f"stack {name}: no longer in the app, left in place (delete it by restarting serve)")
        self.pipelines = after
        return lines


def describe_changes(before: DeployedPipeline, after: DeployedPipeline) -> str:
    old, new = before.stack, after.stack
    changes = []
    environments = sorted(
        f.name
        for key, f in new.functions.items()
        if key in old.functions and old.functions[key].environment != f.environment
    )

    if environments:
        changes.append(f"new environment for {', '.join(environments)}")
    created = sorted(new.functions[key].name for key in set(new.functions) - set(old.functions))
    if created:
        changes.append(f"functions created: {', '.join(created)}")
    removed = sorted(old.functions[key].name for key in set(old.functions) - set(new.functions))
    if removed:
        changes.append(f"functions left in place: {', '.join(removed)}")
    if old.state_machines != new.state_machines:
        changes.append("state machine definition updated")
    parameters = sorted(n for n, v in new.parameters.items() if old.parameters.get(n, v) != v)
    if parameters:
        changes.append(f"parameters updated: {', '.join(parameters)}")
    return "; ".join(changes) or "code reloaded, nothing else changed"


def forget_modules(package: str) -> None:
    """Drop `package` and its modules from the import cache: the next invocation imports the code as it is now."""
    for name in [n for n in sys.modules if n == package or n.startswith(f"{package}.")]:
        del sys.modules[name]
