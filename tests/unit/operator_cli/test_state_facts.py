"""What `runs show` and `runs follow` say after CheckData: the decision, then the keys it did not read, by name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from operator_cli.state_facts import FACTS_MAX, state_facts
from operator_cli.states import StateRun

AT = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
RUN = {
    "file_count": 7,
    "window_start": "2026-11-16",
    "window_end": "2026-11-22",
    "newest_data_date": "2026-11-22",
    "reason": "data of 2026-11-22 is newer than the watermark 2026-11-21",
}


def check_data(**run: Any) -> StateRun:
    return StateRun(
        name="CheckData",
        kind="Task",
        entered=AT,
        exited=AT,
        output={"run": {**RUN, **run}},
        result=None,
        error=None,
        cause=None,
        attempts=1,
        next_state=None,
    )


def test_the_decision_alone_when_every_key_was_read() -> None:
    assert state_facts(check_data()) == (
        "7 files in 2026-11-16…2026-11-22: data of 2026-11-22 is newer than the watermark 2026-11-21"
    )


def test_the_keys_skipped_and_those_in_no_layout_follow_by_name() -> None:
    # GIVEN a run that skipped two files of its window and found 21 keys in no layout, naming the first 20
    stray = [f"data/churn/notes-{n:02d}.txt" for n in range(20)]
    run = check_data(
        skipped_count=2,
        skipped_keys=[
            {"key": "data/churn/dt=2026-11-22/_SUCCESS", "reason": "not a .csv or .csv.gz file"},
            {"key": "data/churn/dt=2026-11-22/README.txt", "reason": "not a .csv or .csv.gz file"},
        ],
        unrecognised_count=21,
        unrecognised_keys=stray,
    )

    text = state_facts(run)

    # THEN the line goes past the usual clip to name every one the run's output holds
    assert len(text) > FACTS_MAX
    assert "; 2 skipped: data/churn/dt=2026-11-22/_SUCCESS, data/churn/dt=2026-11-22/README.txt; " in text
    assert text.endswith(f"; 21 in no layout: {', '.join(stray)} and 1 more")


def test_a_run_written_before_keys_were_named_shows_the_count() -> None:
    assert state_facts(check_data(skipped_count=3)).endswith("watermark 2026-11-21; 3 skipped")
