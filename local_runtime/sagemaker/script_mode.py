"""What the SageMaker framework containers do around a user's script: its requirements.txt, its errors.

A framework container installs the source directory's requirements.txt with pip before it runs the entry point or
loads the serving code (sagemaker_training/modules.py, `install_requirements`). Locally each distinct
requirements.txt gets a virtualenv of its own, built once and cached by the file's hash: it sees the runtime's own
packages (so the framework installed here is the one the script imports) and pip installs from the index and
wheels configured on this machine. A failed entry point is reported as the training toolkit words it
(sagemaker_training/process.py and errors.py): the error class, its exit code, the error lines of its output and
its command.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REQUIREMENTS_FILE = "requirements.txt"
_READY_MARKER = ".local-runtime-ready"
_ERROR_LINES_KEPT = 200

# The names whose appearance in an entry point's output starts its ErrorMessage (sagemaker_training/__init__.py,
# _PYTHON_ERRORS_ and _MPI_ERRORS_; process.py `watch` matches them as substrings of a line).
_ERROR_MARKERS = (
    "BaseException", "Exception", "ArithmeticError", "AssertionError", "AttributeError", "BlockingIOError",
    "BrokenPipeError", "BufferError", "ChildProcessError", "ConnectionAbortedError", "ConnectionError",
    "ConnectionRefusedError", "ConnectionResetError", "EOFError", "EnvironmentError", "FileExistsError",
    "FileNotFoundError", "FloatingPointError", "IOError", "ImportError", "IndentationError", "IndexError",
    "InterruptedError", "IsADirectoryError", "KeyError", "LookupError", "MemoryError", "ModuleNotFoundError",
    "NameError", "NotADirectoryError", "NotImplementedError", "OSError", "OverflowError", "PermissionError",
    "ProcessLookupError", "RecursionError", "ReferenceError", "RuntimeError", "SyntaxError", "SystemError",
    "TabError", "TimeoutError", "TypeError", "UnboundLocalError", "UnicodeDecodeError", "UnicodeEncodeError",
    "UnicodeError", "UnicodeTranslateError", "ValueError", "ZeroDivisionError", "Invalid requirement",
    "ResourceExhaustedError", "OutOfRangeError", "InvalidArgumentError", "mpirun.real", "ORTE",
)  # fmt: skip


class ErrorWatch:
    """The ErrorMessage the training toolkit reports for a failed command: its output from the first line that
    names a Python error class, each line once, trimmed of spaces and colons at its ends."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._started = False

    def feed(self, line: str) -> None:
        if not self._started:
            self._started = any(marker in line for marker in _ERROR_MARKERS)
        if self._started and len(self._lines) < _ERROR_LINES_KEPT:
            trimmed = line.strip(" :\n")
            if trimmed not in self._lines:
                self._lines.append(trimmed)

    @property
    def message(self) -> str:
        # The toolkit joins its streams' lines with " " after each "\n", so every line after the first starts
        # with a space.
        return "\n ".join(self._lines)


def toolkit_failure(error_class: str, returncode: int, message: str, command: Sequence[str]) -> str:
    """A FailureReason as SageMaker shows a framework container's failure: `AlgorithmError: ` before the toolkit's
    failure file (`<class>:\\nExitCode N\\nErrorMessage "..."\\nCommand "..."`) and `, exit code: N` after it."""
    extra = '\nExtraInfo "OutOfMemory: Process killed by SIGKILL (signal 9)"' if returncode == 137 else ""
    return (
        f'AlgorithmError: {error_class}:\nExitCode {returncode}\nErrorMessage "{message}"{extra}\n'
        f'Command "{" ".join(command)}", exit code: {returncode}'
    )


@dataclass(frozen=True)
class PythonEnvironment:
    """A cached virtualenv for one requirements.txt; `ready` once its requirements were installed."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def ready(self) -> bool:
        return (self.root / _READY_MARKER).is_file()

    def site_packages(self) -> str:
        """Where pip installs into it (purelib of the venv's scheme)."""
        return sysconfig.get_path("purelib", vars={"base": str(self.root), "platbase": str(self.root)})

    def sys_path(self) -> list[str]:
        """Roughly the sys.path of its interpreter: its own packages, then the runtime's."""
        return [self.site_packages(), *sys.path]

    def create(self) -> None:
        """A fresh virtualenv that sees the system's and the runtime's packages (a .pth file names the latter).

        `--system-site-packages` alone would show the base interpreter's packages, not those of the virtualenv the
        runtime itself runs in, where the framework is installed.
        """
        if self.root.exists():
            shutil.rmtree(self.root)
        venv.EnvBuilder(system_site_packages=True, symlinks=True, with_pip=False).create(self.root)
        packages = Path(self.site_packages())
        packages.mkdir(parents=True, exist_ok=True)
        runtime_paths = [path for path in (*site.getsitepackages(), site.getusersitepackages()) if Path(path).is_dir()]
        (packages / "_local_runtime_parent.pth").write_text("".join(f"{path}\n" for path in runtime_paths))

    def install_command(self, requirements: Path) -> list[str]:
        """pip, run by the virtualenv's interpreter (the runtime's pip, seen through the .pth file)."""
        return [str(self.python), "-m", "pip", "install", "--disable-pip-version-check", "-r", str(requirements)]

    def mark_ready(self) -> None:
        (self.root / _READY_MARKER).write_text("")

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class PythonEnvironments:
    """The cache of virtualenvs, one per distinct requirements.txt (and interpreter), under `cache_dir`."""

    def __init__(self, cache_dir: Path) -> None:
        self._cache_dir = cache_dir

    @contextmanager
    def locked(self, requirements: Path) -> Iterator[PythonEnvironment]:
        """The virtualenv for `requirements`, held exclusively (jobs and workers may build the same one at once)."""
        digest = hashlib.sha256(
            b"\0".join((requirements.read_bytes(), sys.version.encode(), sys.prefix.encode()))
        ).hexdigest()[:20]
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        with (self._cache_dir / f"{digest}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield PythonEnvironment(self._cache_dir / digest)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def ensure(self, requirements: Path) -> PythonEnvironment:
        """The ready virtualenv for `requirements`, installing it when needed (without a job to log to).

        Raises RequirementsError with the toolkit's wording when pip fails.
        """
        with self.locked(requirements) as environment:
            if environment.ready:
                return environment
            environment.create()
            command = environment.install_command(requirements)
            result = subprocess.run(
                command, cwd=requirements.parent, capture_output=True, text=True, stdin=subprocess.DEVNULL
            )
            if result.returncode != 0:
                environment.discard()
                output = (result.stdout + result.stderr).splitlines()
                raise RequirementsError(install_failure(result.returncode, output, command))
            environment.mark_ready()
            return environment


class RequirementsError(Exception):
    """requirements.txt could not be installed; the message names the package pip could not install."""


def install_failure(returncode: int, output: Sequence[str], command: Sequence[str]) -> str:
    """The FailureReason of a requirements.txt that pip could not install: the toolkit's InstallRequirementsError.

    Its ErrorMessage is pip's ERROR lines, which name the requirement (the toolkit's own watch would keep only
    lines naming a Python error class, which pip's resolver errors do not).
    """
    errors = [line.strip() for line in output if line.strip().startswith("ERROR:")]
    message = "\n ".join(dict.fromkeys(errors)) or "\n ".join(line.strip() for line in output[-5:])
    return toolkit_failure("InstallRequirementsError", returncode, message, command)
