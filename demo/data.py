"""The demo's dataset: scikit-learn's bundled diabetes data as daily CSV files, label first, no header.

`load_diabetes()` reads files inside the installed package: nothing is downloaded. The split is
deterministic (a fixed shuffle), so every run of the demo trains on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt

HELD_OUT_ROWS = 5  # kept out of every file: the rows the demo asks the endpoint about
_SEED = 20_26


@dataclass(frozen=True)
class DailyFile:
    """One day of data, as it lands in S3: `<prefix>/YYYY-MM-DD.csv`."""

    day: date
    key: str
    body: bytes
    rows: int


@dataclass(frozen=True)
class LabeledRow:
    """A row the model never saw: the features to send to the endpoint, and the true label."""

    features: tuple[float, ...]
    label: float

    def csv(self) -> str:
        """The features as one `text/csv` line, as the endpoint expects them (no label)."""
        return ",".join(_number(value) for value in self.features)


@dataclass(frozen=True)
class DemoDataset:
    """The daily files, oldest first, and the held-out rows."""

    files: tuple[DailyFile, ...]
    held_out: tuple[LabeledRow, ...]

    @property
    def first_days(self) -> tuple[DailyFile, ...]:
        """Every file but the newest: what is uploaded before the first run."""
        return self.files[:-1]

    @property
    def one_more_day(self) -> DailyFile:
        """The newest file: the day of data that arrives after the first runs."""
        return self.files[-1]


def today_utc() -> date:
    return datetime.now(UTC).date()


def demo_dataset(*, days: int, end: date, prefix: str) -> DemoDataset:
    """Split the diabetes data into `days` daily files for the days ending on `end` (inclusive).

    Rows are shuffled with a fixed seed and dealt into consecutive days; HELD_OUT_ROWS rows stay out of
    every file. Raises ValueError when `days` is not between 2 and the number of rows (a day needs a row,
    and the demo needs a day to add after the first runs).
    """
    features, labels = _diabetes()
    order = np.random.default_rng(_SEED).permutation(len(labels))
    held, kept = order[:HELD_OUT_ROWS], order[HELD_OUT_ROWS:]
    if not 2 <= days <= len(kept):
        raise ValueError(f"days must be between 2 and {len(kept)}, got {days}")
    files = []
    for offset, chunk in enumerate(np.array_split(kept, days)):
        day = end - timedelta(days=days - 1 - offset)
        lines = [",".join(_number(v) for v in (labels[i], *features[i])) for i in chunk]
        files.append(
            DailyFile(
                day=day,
                key=f"{prefix.strip('/')}/{day.isoformat()}.csv",
                body=("\n".join(lines) + "\n").encode(),
                rows=len(chunk),
            )
        )
    held_out = tuple(LabeledRow(features=tuple(float(v) for v in features[i]), label=float(labels[i])) for i in held)
    return DemoDataset(files=tuple(files), held_out=held_out)


def _diabetes() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    # Imported here: scikit-learn takes a second to import, and only the demo needs it.
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.float64)


def _number(value: float) -> str:
    # Shortest text that reads back as the same float: files are identical from run to run and machine to machine.
    return repr(float(value))
