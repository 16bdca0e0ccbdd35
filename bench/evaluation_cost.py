"""What the held-out evaluation adds to a run: state transitions, Lambda invocations and SageMaker jobs.

The same pipeline is deployed twice into the local runtime, once with `evaluation.score_models` on (the default) and
once off, and each runs twice on the same data: the first run (no production model: one transform job) and the
second (the new and the production model: two). Prints, per run, the states entered (Step Functions bills a
Standard workflow by state transition), the Lambda invocations (the steps' and StatusChangeListener's) and the
transform jobs, then the difference the evaluation makes. Run from the project root:
`.venv/bin/python -m bench.evaluation_cost`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from local_runtime.deploy import run_execution
from local_runtime.runtime import QUIET_FUNCTIONS, LocalRuntime, synthesize

PIPELINE = "evalbench"
STACK = f"SageMakerRetraining-{PIPELINE}"


def _rows(seed: int, n: int = 200) -> bytes:
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(n, 2))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + generator.normal(scale=0.1, size=n)
    return "".join(f"{y:.6f},{a:.6f},{b:.6f}\n" for y, (a, b) in zip(labels, features, strict=True)).encode()


def measure(score_models: bool) -> list[dict[str, int]]:
    """Two runs of the pipeline (the first, then one with a production model); their counts."""
    config = {
        "name": PIPELINE,
        "data_prefix": f"data/{PIPELINE}",
        "window_days": 3,
        "hyperparameters": {"predictor_type": "regressor"},
        "evaluation": {"score_models": score_models},
        "polling": {"interval_seconds": 1, "max_training_wait_seconds": 600, "max_deployment_wait_seconds": 300},
    }
    template = synthesize({"pipelines": [config]})[STACK]
    today = datetime.now(UTC).date()
    counts: list[dict[str, int]] = []
    with LocalRuntime() as runtime:
        pipeline = runtime.deploy_template(template, stack_name=STACK, function_environment=QUIET_FUNCTIONS)
        bucket = pipeline.stack.outputs["DataBucketName"]
        for run in range(2):
            for offset in ((2, 1), (0,))[run]:  # then a new day: the next run trains on two, judges on the third
                day = (today - timedelta(days=offset)).isoformat()
                runtime.client("s3").put_object(Bucket=bucket, Key=f"data/{PIPELINE}/{day}.csv", Body=_rows(offset))
            before = len(runtime.aws.functions.invocations)
            record = run_execution(runtime.aws, pipeline, name=f"bench-{run}", timeout_seconds=300)
            if record.status != "SUCCEEDED":
                raise RuntimeError(f"run {run + 1} ended {record.status}: {record.cause}")
            jobs = runtime.client("sagemaker").list_transform_jobs(MaxResults=100)["TransformJobSummaries"]
            counts.append(
                {
                    "states": len(record.states_entered()),
                    "invocations": len(runtime.aws.functions.invocations) - before,
                    "transform_jobs": len(jobs) - sum(c["transform_jobs"] for c in counts),
                }
            )
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    try:
        scored, unscored = measure(True), measure(False)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print("held-out evaluation: per run, with evaluation.score_models on and off (local runtime)")
    header = f"{'run':<28}{'states on/off':>16}{'invocations on/off':>22}{'transform jobs':>16}"
    print(header)
    labels = ("first (no production model)", "next (new vs production)")
    added: dict[str, Any] = {}
    for label, on, off in zip(labels, scored, unscored, strict=True):
        print(
            f"{label:<28}{on['states']:>8}/{off['states']:<7}{on['invocations']:>12}/{off['invocations']:<9}"
            f"{on['transform_jobs']:>16}"
        )
        added[label] = (on["states"] - off["states"], on["invocations"] - off["invocations"])
    for label, (states, invocations) in added.items():
        run = label.split(" ")[0]
        print(f"the evaluation adds to the {run} run: {states} state transitions, {invocations} Lambda invocations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
