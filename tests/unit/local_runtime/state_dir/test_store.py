"""The state directory's writes: a save that fails midway leaves the previous state whole; blobs are shared."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from local_runtime import state_dir
from local_runtime.server import LocalAws
from local_runtime.state_dir.autosave import AutoSave
from local_runtime.state_dir.codec import StateFormatError, decode, encode
from tests.local_aws import local_client


def test_a_save_that_fails_before_its_manifest_leaves_the_previous_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a saved state with one object
    with LocalAws() as aws:
        s3 = local_client(aws, "s3")
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="a", Body=b"first")
        state_dir.save(aws, tmp_path)
        # WHEN the next save crashes while writing the manifest, after writing the new blob
        s3.put_object(Bucket="data", Key="a", Body=b"second")

        def crash(*_: object, **__: object) -> None:
            raise OSError("disk full")

        monkeypatch.setattr("local_runtime.state_dir.store.os.replace", crash)
        with pytest.raises(OSError, match="disk full"):
            state_dir.save(aws, tmp_path)
        monkeypatch.undo()
    # THEN no temporary file is left and the previous state restores
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    with LocalAws() as aws:
        state_dir.restore(aws, tmp_path)
        assert local_client(aws, "s3").get_object(Bucket="data", Key="a")["Body"].read() == b"first"


def test_blobs_are_written_once_and_removed_when_no_state_names_them(tmp_path: Path) -> None:
    with LocalAws() as aws:
        s3 = local_client(aws, "s3")
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="a", Body=b"same")
        s3.put_object(Bucket="data", Key="b", Body=b"same")
        assert state_dir.save(aws, tmp_path).blobs_written == 1
        assert state_dir.save(aws, tmp_path).blobs_written == 0
        s3.delete_object(Bucket="data", Key="a")
        s3.delete_object(Bucket="data", Key="b")
        assert state_dir.save(aws, tmp_path).blobs_removed == 1
    assert list((tmp_path / "blobs").iterdir()) == []


def test_a_state_of_another_format_is_refused_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"format": 99}))
    with LocalAws() as aws, pytest.raises(StateFormatError, match="state format 99"):
        state_dir.restore(aws, tmp_path)


def test_the_codec_keeps_dates_bytes_and_tuples_and_names_what_it_cannot_keep() -> None:
    from datetime import UTC, datetime

    value = {"when": datetime(2026, 11, 22, tzinfo=UTC), "body": b"\x00", "pair": (1, "a"), "list": [None]}
    assert decode(json.loads(json.dumps(encode(value)))) == value
    with pytest.raises(StateFormatError, match=r"record\.lock: a object cannot be kept"):
        encode({"lock": object()}, "record")


def test_autosave_saves_every_interval_and_at_stop(tmp_path: Path) -> None:
    said: list[str] = []
    with LocalAws() as aws:
        autosave = AutoSave(aws, tmp_path, interval_seconds=0.2, say=said.append).start()
        deadline = time.monotonic() + 10
        while not (tmp_path / "state.json").exists():
            assert time.monotonic() < deadline, "no periodic save"
            time.sleep(0.05)
        local_client(aws, "ssm").put_parameter(Name="/p", Value="v", Type="String")
        autosave.stop()
    assert any(line.startswith(f"State saved to {tmp_path}") for line in said), said
    assert (
        json.loads((tmp_path / "state.json").read_text())["services"]["ssm"][0]["name"] == "p"
    )  # moto files "/p" as "p"
