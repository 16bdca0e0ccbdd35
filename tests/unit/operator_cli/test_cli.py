"""`sagemaker-retraining`: arguments that cannot work fail with one clear line and exit code 2, before any call."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from operator_cli.cli import main


@pytest.fixture
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("sagemaker-retraining: error: ")
    return lines[0]


def test_help_exits_0_and_lists_the_operator_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    assert "{runs,models,approve,reject,rollback,lineage,predict,transform}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: {runs,models,approve,reject,rollback,lineage,predict,transform}"),
        (["demo"], "invalid choice: 'demo'"),
        (["models"], "the following arguments are required: --pipeline"),
        (["approve", "--pipeline", "p", "--version", "x"], "argument --version: invalid int value: 'x'"),
        (["approve", "--pipeline", "p", "--version", "0"], "--version must be 1 or more, got 0"),
        (["models", "--pipeline", "p", "--limit", "101"], "--limit must be from 1 to 100, got 101"),
    ],
)
def test_wrong_arguments_exit_2_with_one_line_naming_the_problem(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2

    assert message in one_error_line(capsys)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["runs"], "the following arguments are required: {start,list,show,follow}"),
        (["runs", "list"], "the following arguments are required: --pipeline"),
        (["runs", "list", "--pipeline", "p", "--status", "done"], "argument --status: invalid choice: 'DONE'"),
        (["runs", "start", "--pipeline", "p", "--window-days", "two"], "argument --window-days: invalid int value"),
        (
            ["runs", "show", "cli-1", "--endpoint-url", "http://127.0.0.1:9"],
            "execution 'cli-1': give --pipeline with an execution name, or the execution's ARN",
        ),
        (
            ["runs", "follow", "arn:aws:states:us-east-1:1:stateMachine:m", "--endpoint-url", "http://127.0.0.1:9"],
            "arn:aws:states:us-east-1:1:stateMachine:m is not an execution ARN",
        ),
        (
            ["runs", "show", "x", "--endpoint-url", "http://127.0.0.1:9", "--profile", "dev"],
            "--profile applies to AWS only",
        ),
    ],
)
def test_runs_arguments_that_cannot_work_exit_2_before_any_call(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2

    assert message in one_error_line(capsys)


@pytest.mark.parametrize(
    ("command", "flag", "says"),
    [
        # CheckData: the window ends on the execution's start day unless end_date says otherwise
        (["runs", "start"], "--end-date", "YYYY-MM-DD: the window's last day (default: the day the run starts, UTC)"),
        (["runs", "start"], "--force", "train even if no data is newer than the watermark"),
        (["models"], "--limit", "how many versions (1..100, default 20)"),
        (
            ["models"],
            "--region",
            "the region (AWS default: AWS_DEFAULT_REGION or the profile's; local runtime default:",
        ),
    ],
)
def test_help_says_what_the_command_does(
    command: list[str], flag: str, says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one help line per option

    assert main([*command, "--help"]) == 0

    line = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith(flag))
    assert says in " ".join(line.split())


def test_runs_against_no_local_runtime_says_where_it_looked(free_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port}"

    assert main(["runs", "list", "--pipeline", "p", "--endpoint-url", url]) == 1

    assert f"no local runtime answers at {url}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["predict", "--pipeline", "p"], "one of the arguments --csv --json-records is required"),
        (["predict", "--pipeline", "p", "--csv", "no/such.csv"], "--csv no/such.csv: no such file"),
        (["predict", "--pipeline", "p", "--csv", "{rows}", "--batch-size", "0"], "--batch-size must be at least 1"),
        (
            ["predict", "--pipeline", "p", "--csv", "{rows}", "--content-type", "image/png"],
            "--content-type image/png: the CLI writes text/csv, application/json or application/jsonlines",
        ),
        (["predict", "--pipeline", "p", "--json-records", "{rows}"], "line 1: not valid JSON"),
    ],
)
def test_predict_input_that_cannot_work_exits_2_before_any_call(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("1.0,2.0\n")
    # An endpoint URL nothing answers on: a call would fail with exit 1, not 2.
    argv = [arg.replace("{rows}", str(rows)) for arg in argv] + ["--endpoint-url", "http://127.0.0.1:9"]

    assert main(argv) == 2

    assert message in one_error_line(capsys)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["transform", "--pipeline", "p"], "one of the arguments --input --day is required"),
        (["transform", "--pipeline", "p", "--day", "2024-13-01"], "--day '2024-13-01': month must be in 1..12"),
        (["transform", "--pipeline", "p", "--day", "yesterday"], "--day 'yesterday': expected YYYY-MM-DD"),
        (["transform", "--pipeline", "p", "--input", "data/x.csv"], "'data/x.csv' is not an S3 URI"),
        (["transform", "--pipeline", "p", "--input", "s3://b/x.csv", "--output", "b/out"], "'b/out' is not an S3 URI"),
    ],
)
def test_transform_input_that_cannot_work_exits_2_before_any_call(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # An endpoint URL nothing answers on: a call would fail with exit 1, not 2.
    assert main([*argv, "--endpoint-url", "http://127.0.0.1:9"]) == 2

    assert message in one_error_line(capsys)


@pytest.mark.parametrize(
    "command",
    [
        ["lineage", "files"],
        ["lineage", "history"],
        ["models"],
        ["approve"],
        ["predict", "--csv", "-"],
        ["transform", "--day", "2026-12-01"],
        ["runs", "list"],
    ],
)
def test_profile_with_endpoint_url_is_a_usage_error_for_every_command(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every command resolves its target the same way: flags that contradict each other exit 2 before any call.
    monkeypatch.setattr("sys.stdin", io.StringIO("1,2\n"))
    argv = [*command, "--pipeline", "p", "--endpoint-url", "http://127.0.0.1:9", "--profile", "dev"]

    assert main(argv) == 2

    assert "--profile applies to AWS only" in one_error_line(capsys)
