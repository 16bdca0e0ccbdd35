"""The run's holdout: the part of the window that judges the model instead of training it.

A time split holds out the newest N days that have data, so the model is judged on data newer than any it trained
on (what it will meet in production). A fraction split holds out each file whose key hashes, with the seed, below
the fraction: membership depends on the file alone, so a file is held out in every run or in none, and no model of
the pipeline (the one in production included) ever trained on a file another run holds out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar

from lambdas.common import env as names
from lambdas.common.errors import ConfigurationError, RetrainingError

_HASH_RANGE = 2**64


class HoldoutTooSmallError(RetrainingError):
    """The window's files cannot be split into a holdout and a training set, each holding at least one file."""


class WindowFile(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def day(self) -> date: ...


F = TypeVar("F", bound=WindowFile)


@dataclass(frozen=True)
class HoldoutSplit:
    """How the window is split: `days` (the newest N days with data) or `fraction` with its `seed`."""

    days: int | None = None
    fraction: float | None = None
    seed: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HoldoutSplit | None:
        """The HOLDOUT variable, None when unset; ConfigurationError when it is not what the stack writes."""
        raw = names.optional_str(env, names.HOLDOUT)
        if raw is None:
            return None
        try:
            spec = json.loads(raw)
            if set(spec) == {"days"} and type(spec["days"]) is int and spec["days"] >= 1:
                return cls(days=spec["days"])
            fraction, seed = spec["fraction"], spec.get("seed", 0)
            if set(spec) <= {"fraction", "seed"} and 0 < float(fraction) < 1 and type(seed) is int:
                return cls(fraction=float(fraction), seed=seed)
        except (ValueError, TypeError, KeyError):
            pass
        raise ConfigurationError(
            f'environment variable {names.HOLDOUT} must be {{"days": N}} or {{"fraction": f, "seed": s}}, got {raw!r}'
        )

    def describe(self) -> str:
        if self.days is not None:
            return f"the newest {self.days} day{'' if self.days == 1 else 's'} with data"
        return f"fraction {self.fraction} of the files (seed {self.seed})"

    def split(self, files: Sequence[F], *, data_prefix: str, window: str) -> tuple[list[F], list[F]]:
        """(training files, holdout files); HoldoutTooSmallError naming the setting when either would be empty."""
        if self.days is not None:
            days = sorted({f.day for f in files}, reverse=True)
            if len(days) <= self.days:
                listed = ", ".join(str(day) for day in sorted(days)) or "none"
                raise HoldoutTooSmallError(
                    f"the window {window} has data on {len(days)} day{'' if len(days) == 1 else 's'} ({listed}): "
                    f"too few to hold out the newest {self.days} (evaluation.holdout.days) and train on the rest; "
                    "widen the window (window_days, or the run's window_days), hold out fewer days, or set "
                    'evaluation.holdout to "none" to train on every day'
                )
            held_days = set(days[: self.days])
            flags = [f.day in held_days for f in files]
        else:
            flags = [self.held_out(f.key.removeprefix(f"{data_prefix}/")) for f in files]
            if not any(flags) or all(flags):
                side = "none of" if not any(flags) else "every one of"
                raise HoldoutTooSmallError(
                    f"evaluation.holdout.fraction {self.fraction} (seed {self.seed}) holds out {side} the "
                    f"{len(files)} file{'' if len(files) == 1 else 's'} in the window {window}: a split needs a file "
                    "on each side; widen the window, change the fraction or the seed, or hold out by days "
                    '({"days": 1}), which suits one file a day'
                )
        kept = [f for f, held in zip(files, flags, strict=True) if not held]
        return kept, [f for f, held in zip(files, flags, strict=True) if held]

    def held_out(self, relative_key: str) -> bool:
        """Whether a fraction split holds out the file at `relative_key` (its key below the data prefix)."""
        digest = hashlib.sha256(f"{self.seed}/{relative_key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / _HASH_RANGE < float(self.fraction or 0)
