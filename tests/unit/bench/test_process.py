"""The benchmarks' one way to time a command."""

from __future__ import annotations

import sys

import pytest

from bench.process import PROJECT_ROOT, timed_run


def test_a_command_runs_in_the_project_root_and_is_timed() -> None:
    seconds, child = timed_run([sys.executable, "-c", "import os; print(os.getcwd())"], what="pwd")

    assert child.stdout.strip() == str(PROJECT_ROOT)
    assert seconds > 0


@pytest.mark.parametrize(("tail_of", "shown"), [("stderr", "on stderr"), ("stdout", "on stdout")])
def test_a_failing_command_raises_with_its_name_exit_code_and_output(tail_of: str, shown: str) -> None:
    script = "import sys; print('on stdout'); print('on stderr', file=sys.stderr); sys.exit(3)"

    with pytest.raises(RuntimeError, match=f"make believe exited 3:\n{shown}"):
        timed_run([sys.executable, "-c", script], what="make believe", tail_of=tail_of)
