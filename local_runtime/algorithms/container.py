"""What every local stand-in for a built-in algorithm's container shares: SageMaker's /opt/ml layout, read from
the training toolkit's SM_* environment, and the failure file through which a job's FailureReason is reported."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_CHANNEL_PREFIX = "SM_CHANNEL_"


@dataclass(frozen=True)
class ContainerPaths:
    """SageMaker's /opt/ml layout, from the SM_* environment or else relative to the working directory."""

    config: Path
    data: Path
    model: Path
    output: Path
    channels: Mapping[str, str]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ContainerPaths:
        input_dir = Path(environ.get("SM_INPUT_DIR", "input"))
        return cls(
            config=Path(environ.get("SM_INPUT_CONFIG_DIR", input_dir / "config")),
            data=input_dir / "data",
            model=Path(environ.get("SM_MODEL_DIR", "model")),
            output=Path(environ.get("SM_OUTPUT_DIR", "output")),
            channels={
                key[len(_CHANNEL_PREFIX) :]: value for key, value in environ.items() if key.startswith(_CHANNEL_PREFIX)
            },
        )

    def channel(self, name: str) -> Path:
        configured = self.channels.get(name.upper())
        return Path(configured) if configured else self.data / name


def fail(paths: ContainerPaths, reason: str) -> int:
    """Report the job's failure as SageMaker reads it (output/failure) and on stderr; the exit code to return."""
    print(reason, file=sys.stderr)
    paths.output.mkdir(parents=True, exist_ok=True)
    (paths.output / "failure").write_text(reason)
    return 1
