"""serve --watch: the source watcher's debounce, and a redeploy that keeps data and updates what changed."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runtime.runtime import LocalRuntime
from local_runtime.watch import SourceWatcher, forget_modules

MINUTE_CONFIG = "demo/pipelines.json"


@pytest.fixture
def lambdas_modules_restored() -> Iterator[None]:
    """A redeploy drops the `lambdas` modules; the other tests keep the ones they imported."""
    saved = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "lambdas"}
    yield
    forget_modules("lambdas")
    sys.modules.update(saved)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def touch(path: Path, text: str, when: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(when, when))


def test_a_change_is_reported_once_after_the_quiet_period(tmp_path: Path) -> None:
    # GIVEN a watched directory with one file
    (tmp_path / "stacks").mkdir()
    touch(tmp_path / "stacks" / "a.py", "x = 1", 1_000)
    clock = Clock()
    watcher = SourceWatcher([tmp_path / "stacks", tmp_path / "cdk.json"], debounce_seconds=1.0, clock=clock)
    assert not watcher.poll()

    # WHEN a file changes, then another within the quiet period
    touch(tmp_path / "stacks" / "a.py", "x = 2", 2_000)
    assert not watcher.poll()
    clock.now = 0.5
    touch(tmp_path / "cdk.json", "{}", 3_000)
    assert not watcher.poll()

    # THEN the change is reported once, a second after the last file changed
    clock.now = 1.2
    assert not watcher.poll()
    clock.now = 1.6
    assert watcher.poll()
    assert not watcher.poll()


def test_bytecode_and_caches_are_not_changes(tmp_path: Path) -> None:
    (tmp_path / "lambdas" / "__pycache__").mkdir(parents=True)
    clock = Clock()
    watcher = SourceWatcher([tmp_path / "lambdas"], debounce_seconds=0.0, clock=clock)
    touch(tmp_path / "lambdas" / "__pycache__" / "core.cpython-311.pyc", "", 5_000)
    assert not watcher.poll()
    assert not watcher.poll()


@pytest.mark.usefixtures("lambdas_modules_restored")
def test_forget_modules_drops_a_package_and_only_it() -> None:
    import lambdas.common.models  # noqa: F401

    forget_modules("lambdas")

    assert not any(name == "lambdas" or name.startswith("lambdas.") for name in sys.modules)
    assert "json" in sys.modules


@pytest.mark.e2e
@pytest.mark.usefixtures("lambdas_modules_restored")
def test_a_redeploy_after_a_config_change_updates_the_functions_and_keeps_the_data(tmp_path: Path) -> None:
    """The config file's `window_days` changes: the functions' WINDOW_DAYS follows, objects and watermark stay."""
    from local_runtime.runtime import synthesize
    from local_runtime.watch import Redeployer

    config = json.loads(Path(MINUTE_CONFIG).read_text())
    before_file, after_file = tmp_path / "before.json", tmp_path / "after.json"
    before_file.write_text(json.dumps(config))
    config["pipelines"][0]["window_days"] = 9
    after_file.write_text(json.dumps(config))

    with LocalRuntime(enforce_iam=False, emulate_sagemaker=False) as runtime:

        def deploy(templates: Any) -> list[Any]:
            return [runtime.deploy_template(t, stack_name=name) for name, t in templates.items()]

        pipelines = deploy(synthesize({"config_file": str(before_file)}))
        stack = pipelines[0].stack
        bucket = stack.outputs["DataBucketName"]
        s3, ssm = runtime.client("s3"), runtime.client("ssm")
        s3.put_object(Bucket=bucket, Key="data/demo/2026-11-22.csv", Body=b"1,2\n")
        watermark = stack.outputs["WatermarkParameterName"]
        ssm.put_parameter(Name=watermark, Value='{"newest_data_date": "2026-11-22"}', Overwrite=True)
        windows = {f.environment.get("WINDOW_DAYS") for f in runtime.aws.functions.registered()} - {None}
        assert windows == {"7"}

        redeployer = Redeployer(
            deploy=deploy,
            put_parameter=lambda n, v: ssm.put_parameter(Name=n, Value=v, Type="String", Overwrite=True),
            pipelines=pipelines,
        )
        lines = redeployer.redeploy(synthesize({"config_file": str(after_file)}))

        assert any("new environment for" in line for line in lines), lines
        windows = {f.environment.get("WINDOW_DAYS") for f in runtime.aws.functions.registered()} - {None}
        assert windows == {"9"}
        assert s3.get_object(Bucket=bucket, Key="data/demo/2026-11-22.csv")["Body"].read() == b"1,2\n"
        assert "2026-11-22" in ssm.get_parameter(Name=watermark)["Parameter"]["Value"]
