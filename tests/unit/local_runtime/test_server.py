"""The local AWS server's process-wide settings."""

from __future__ import annotations

import os

import pytest

from local_runtime.server import LocalAws


def test_a_server_stopped_inside_anothers_lifetime_gives_moto_port_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a server running (Step Functions calls Lambda on localhost:$MOTO_PORT)
    monkeypatch.delenv("MOTO_PORT", raising=False)
    with LocalAws() as outer:
        # WHEN another starts and stops meanwhile
        LocalAws().start().stop()

        # THEN the first one's port is back
        assert os.environ["MOTO_PORT"] == str(outer.port)
    assert "MOTO_PORT" not in os.environ
