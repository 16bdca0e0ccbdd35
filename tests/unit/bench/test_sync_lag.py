"""The `.sync` wake-up bench: it runs its training jobs through the local Step Functions and prints the lag."""

from __future__ import annotations

import pytest

from bench.sync_lag import definition, main


def test_the_machine_is_one_sync_training_task() -> None:
    task = definition()["States"]["Train"]
    assert task["Resource"] == "arn:aws:states:::sagemaker:createTrainingJob.sync"
    assert task["Parameters"]["TrainingJobName.$"] == "$.Name"


def test_the_bench_prints_the_lag_of_each_job(capsys: pytest.CaptureFixture[str]) -> None:
    main(["2"])  # the figure is the bench's to report, not a test's to time

    output = capsys.readouterr().out
    assert "a createTrainingJob.sync task's wake-up after its job ends, 2 jobs" in output
    assert "wake-up lag under 100 ms: " in output
