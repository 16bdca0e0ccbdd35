"""`python -m stacks.layer_lock` (run by `make lock`): the dependencies layer's lock, resolved with uv for the Lambda
runtime's Python and platform from lambdas/dependencies/requirements.txt, every distribution pinned and hashed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from stacks.constructs.lambda_assets import PIP_PLATFORMS, RUNTIME, RUNTIME_PROVIDED_DISTRIBUTIONS
from stacks.paths import LAYER_LOCK, LAYER_REQUIREMENTS, PROJECT_ROOT

# uv names the newest of the two manylinux tags the bundling installs for; it accepts the older ones too.
UV_PLATFORM = "x86_64-manylinux_2_28"
HEADER = "# The layer's lock for Python {version} on {platform}: `make lock` writes it (python -m stacks.layer_lock)."
_HEADER = re.compile(r"^# The layer's lock for Python (?P<version>[\d.]+) on (?P<platform>\S+):")


def runtime_python_version() -> str:
    return RUNTIME.name.removeprefix("python")


def lock_command(uv: str, output: Path) -> list[str]:
    """uv's command that resolves the layer's requirements for the runtime, leaving out what the runtime ships."""
    left_out = [flag for name in sorted(RUNTIME_PROVIDED_DISTRIBUTIONS) for flag in ("--no-emit-package", name)]
    return [
        uv,
        "pip",
        "compile",
        str(LAYER_REQUIREMENTS),
        "--python-version",
        runtime_python_version(),
        "--python-platform",
        UV_PLATFORM,
        "--only-binary",
        ":all:",  # as the bundling installs: wheels only
        "--generate-hashes",
        "--quiet",
        "--no-header",
        *left_out,
        "--output-file",
        str(output),
    ]


def locked_for(lock_text: str) -> tuple[str, str] | None:
    """The Python version and platform a lock's header says it was resolved for, or None without the header."""
    match = _HEADER.match(lock_text)
    return (match["version"], match["platform"]) if match else None


def main() -> int:
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    subprocess.run(lock_command(uv, LAYER_LOCK), check=True, cwd=PROJECT_ROOT)
    header = HEADER.format(version=runtime_python_version(), platform=UV_PLATFORM)
    LAYER_LOCK.write_text(header + "\n" + LAYER_LOCK.read_text())
    platforms = ", ".join(PIP_PLATFORMS)
    print(f"wrote {LAYER_LOCK.relative_to(PROJECT_ROOT)} for Python {runtime_python_version()} ({platforms})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
