"""The operator's command runs where moto and the local runtime are not installed: importing it loads neither."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
FORBIDDEN = ("moto", "local_runtime", "demo", "werkzeug", "aws_cdk")


def test_importing_every_operator_module_loads_no_emulation_and_no_cdk() -> None:
    # GIVEN a fresh interpreter (this one has moto loaded by the suite's fixtures)
    modules = sorted(
        ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        for path in (PROJECT_ROOT / "operator_cli").rglob("*.py")
        if path.name != "__main__.py"
    )
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )

    # WHEN it imports every module of the operator package
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout
    )

    # THEN none of the local runtime's packages, moto's or the CDK's came with them
    assert "operator_cli" in loaded
    assert [name for name in FORBIDDEN if name in loaded] == []
