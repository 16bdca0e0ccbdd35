"""The build benchmark's ten-pipeline configuration and its reading of the tools' output."""

from __future__ import annotations

from bench.build_time import cdk_json_pipeline, count_bundled, many_pipelines, pytest_summary
from stacks.config import parse_pipelines


def test_ten_pipelines_are_a_valid_configuration_of_distinct_pipelines() -> None:
    pipelines = many_pipelines(cdk_json_pipeline(), 10)

    configs = parse_pipelines(pipelines)  # raises ConfigError for a clash or an invalid field

    assert len({config.name for config in configs}) == 10
    assert len({config.data_prefix for config in configs}) == 10


def test_bundling_is_counted_from_the_clis_lines() -> None:
    output = (
        "Bundling asset SageMakerRetraining-demo/LambdaAssets/Dependencies/Code/Stage...\n"
        "WARNING: Location 'file:///opt/pypi/simple/slack-sdk/' is ignored\n"
        "\x1b[0mBundling asset SageMakerRetraining-demo/Steps/CheckData/Function/Code/Stage...\n"
        "  (a log line that quotes Bundling asset is not one)\n"
        "Successfully synthesized to cdk.out\n"
    )

    assert count_bundled(output) == 2
    assert count_bundled("Successfully synthesized to cdk.out\n") == 0


def test_pytest_summary_is_the_last_counts_line() -> None:
    output = "....\n===== 612 passed, 2 skipped in 171.04s (0:02:51) =====\n"

    assert pytest_summary(output) == "612 passed, 2 skipped"
    assert pytest_summary("make: *** [test] Error 1\n") == "?"
