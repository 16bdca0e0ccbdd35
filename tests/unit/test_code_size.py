"""The sizes that keep the code readable: no source file over 500 lines, no function over 80 lines unless its
docstring says why (a sentence starting "Long because"). Tests are exempt: a test file groups one subject's cases."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80
EXPLAINED = "Long because"


def source_files() -> list[Path]:
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in tracked.stdout.split() if not name.startswith("tests/")]


def long_functions(path: Path, root: Path = ROOT) -> list[str]:
    """Each function of the file over the limit whose docstring does not say why, as `file:line name is N lines`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES and EXPLAINED not in (ast.get_docstring(node) or ""):
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} is {length} lines")
    return found


def test_the_tree_has_source_files_to_check() -> None:
    assert len(source_files()) > 100


def test_no_source_file_is_over_500_lines() -> None:
    too_long = [
        f"{path.relative_to(ROOT)} is {count} lines"
        for path in source_files()
        if (count := path.read_text().count("\n")) > MAX_FILE_LINES
    ]

    assert too_long == []


def test_no_function_is_over_80_lines_without_saying_why() -> None:
    assert [problem for path in source_files() for problem in long_functions(path)] == []


def test_a_long_function_is_found_and_its_reason_accepted(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "a.py").write_text(f"def plain():\n{body}\n")
    (tmp_path / "b.py").write_text(f'def explained():\n    """{EXPLAINED} it lists every case."""\n{body}\n')

    assert long_functions(tmp_path / "a.py", tmp_path) == ["a.py:1 plain is 81 lines"]
    assert long_functions(tmp_path / "b.py", tmp_path) == []
