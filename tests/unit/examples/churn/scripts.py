"""The churn example's scripts, loaded from their files: the source directory is shipped as is, not a package."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SOURCE_DIR = Path(__file__).parents[4] / "examples" / "churn" / "preprocessing"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"churn_example_{name}", SOURCE_DIR / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
