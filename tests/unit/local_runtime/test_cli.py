"""The command line: wrong arguments and configuration fail with one clear line and exit code 2."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_runtime.cli import main


@pytest.fixture
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("python -m local_runtime: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [],
            "the following arguments are required: {demo,serve,synth}",
        ),
        (["deploy"], "invalid choice: 'deploy'"),
        (["demo", "--jsn"], "unrecognized arguments: --jsn"),
        (["serve", "--port", "http"], "argument --port: must be a number, got 'http'"),
        (["serve", "--port", "70000"], "argument --port: must be between 1 and 65535, got 70000"),
        (["serve", "--port"], "argument --port: expected one argument"),
        (["serve", "--clock", "tomorrow"], "argument --clock: not an ISO 8601 time: 'tomorrow'"),
        (["serve", "--clock", "2026-12-05T04:59:50"], "argument --clock: '2026-12-05T04:59:50' needs its UTC offset"),
        (["serve", "--clock-speed", "0"], "argument --clock-speed: must be a number above 0 and at most 86400"),
    ],
)
def test_wrong_arguments_exit_2_with_one_line_naming_the_problem(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2

    assert message in one_error_line(capsys)


def test_serve_on_a_port_in_use_says_so_before_doing_anything(
    busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", str(busy_port)]) == 2

    assert f"port {busy_port} is in use" in one_error_line(capsys)


def test_serve_with_a_missing_config_file_names_it(free_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", str(free_port), "--config-file", "no/such/pipelines.json"]) == 2

    assert "--config-file no/such/pipelines.json: no such file" in one_error_line(capsys)


def test_serve_with_an_invalid_configuration_shows_the_config_error(
    free_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a configuration that synth rejects
    config = tmp_path / "pipelines.json"
    config.write_text(json.dumps({"pipelines": [{"name": "demo", "data_prefix": "data/demo", "window_days": 0}]}))

    # WHEN serve is started with it
    code = main(["serve", "--port", str(free_port), "--config-file", str(config)])

    # THEN it stops with the field's name, before serving anything
    assert code == 2
    assert "config error: pipeline 'demo': window_days must be an integer between 1 and 366, got 0" in one_error_line(
        capsys
    )


def test_help_exits_0_and_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    out = capsys.readouterr().out
    assert "{demo,serve,synth}" in out
    assert "sagemaker-retraining --help" in out


def test_an_operator_command_is_passed_on_to_sagemaker_retraining_with_a_note(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a script written before the operator's commands moved to `sagemaker-retraining`
    # WHEN it runs one through the local runtime's entry point
    code = main(["runs", "list"])

    # THEN the command runs as sagemaker-retraining's (its own usage error, exit 2) after a note naming the new home
    assert code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("python -m local_runtime runs: the operator's commands are `sagemaker-retraining`'s")
    assert err[1] == "sagemaker-retraining: error: the following arguments are required: --pipeline"


@pytest.mark.parametrize(
    ("argv", "variable", "enforced"),
    [
        (["demo"], None, True),
        (["demo", "--no-iam"], None, False),
        (["demo"], "off", False),
        (["demo", "--no-iam"], "on", False),
    ],
)
def test_the_demo_enforces_iam_unless_told_not_to(
    argv: list[str], variable: str | None, enforced: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from demo import story
    from demo.summary import DemoSummary

    asked: dict[str, object] = {}

    def run_demo(console: object, **kwargs: object) -> DemoSummary:
        asked.update(kwargs)
        return DemoSummary(sagemaker="emulated")

    monkeypatch.setattr(story, "run_demo", run_demo)
    if variable is None:
        monkeypatch.delenv("LOCAL_RUNTIME_IAM", raising=False)
    else:
        monkeypatch.setenv("LOCAL_RUNTIME_IAM", variable)

    main(argv)  # the empty summary's problems make it exit 1: only what it asked for matters here

    assert asked["enforce_iam"] is enforced


def test_a_local_runtime_enforces_iam_by_default_and_not_with_the_variable_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from local_runtime.runtime import LocalRuntime

    monkeypatch.delenv("LOCAL_RUNTIME_IAM", raising=False)
    assert LocalRuntime(emulate_sagemaker=False).aws.enforce_iam
    monkeypatch.setenv("LOCAL_RUNTIME_IAM", "off")
    assert not LocalRuntime(emulate_sagemaker=False).aws.enforce_iam
    assert LocalRuntime(emulate_sagemaker=False, enforce_iam=True).aws.enforce_iam
