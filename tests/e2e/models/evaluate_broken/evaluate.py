"""An evaluation script with a bug: it fails on every holdout, as a script that expects another layout would."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    files = sorted(p.name for p in Path(os.environ["HOLDOUT_DIR"]).rglob("*") if p.is_file())
    print(f"found held-out files {files}", file=sys.stderr)
    raise KeyError("expected a header row with a 'target' column")


if __name__ == "__main__":
    main()
