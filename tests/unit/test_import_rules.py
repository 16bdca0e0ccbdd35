"""The arrows between the packages point one way: stacks -> contract <- lambdas, and operator_cli -> contract, lambdas.

Every import of every file is read from its syntax tree, those inside functions included: `stacks/` and
`lambdas/` import only themselves and the contract of ours, never moto or the local runtime; `contract/` imports
nothing but the standard library.
"""

from __future__ import annotations

import ast
import fnmatch
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Packages of this project: any top-level folder with an __init__.py, and the top-level modules (app.py).
FIRST_PARTY = frozenset(
    {path.parent.name for path in ROOT.glob("*/__init__.py")} | {path.stem for path in ROOT.glob("*.py")}
)
# Third-party packages no production code may import, whatever the package.
NEVER = frozenset({"moto"})
# What the CDK app alone needs: the functions run without it.
CDK = frozenset({"aws_cdk", "constructs", "cdk_nag", "jsii"})
# What the operator's command must run without: its install needs boto3 only (the `local` extra brings the rest).
LOCAL_ONLY = CDK | {"werkzeug", "aws_lambda_powertools", "slack_sdk", "numpy", "sklearn", "joblib", "scipy", "xgboost"}


@dataclass(frozen=True)
class Rule:
    """What the files under `paths` may import of ours (None: only the standard library and themselves)."""

    paths: tuple[str, ...]
    ours: frozenset[str] | None
    why: str
    third_party: frozenset[str] = frozenset()  # packages forbidden here besides NEVER
    # modules of ours forbidden here although their package is allowed (a prefix: "lambdas.check_data.handler")
    modules: tuple[str, ...] = ()


RULES = (
    Rule(
        ("stacks", "app.py"),
        frozenset({"stacks", "contract"}),
        "the CDK app imports stacks/ and contract/ of ours: never lambdas/, the local runtime or moto",
    ),
    Rule(
        ("lambdas",),
        frozenset({"lambdas", "contract"}),
        "the functions import lambdas/ and contract/ of ours: never stacks/, the local runtime, the CDK or moto",
        third_party=CDK,
    ),
    Rule(("contract",), None, "the contract imports nothing but the standard library"),
    Rule(
        ("operator_cli",),
        frozenset({"operator_cli", "contract", "lambdas"}),
        "the operator's command talks to AWS with boto3 only: never the local runtime, the demo, the CDK app, moto, "
        "the functions' handlers or libraries its install lacks",
        third_party=LOCAL_ONLY,
        modules=("lambdas.*.handler",),
    ),
)


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str

    @property
    def top(self) -> str:
        return self.module.split(".")[0]


def imports_of(path: Path, root: Path = ROOT) -> Iterator[Import]:
    """Every module the file imports, at any depth of its syntax tree; relative imports resolved to absolute; and
    `importlib.import_module("x")` / `__import__("x")` with a literal name."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and _dynamic_import(node) is not None:
            yield Import(path, node.lineno, str(_dynamic_import(node)))
        elif isinstance(node, ast.Import):
            yield from (Import(path, node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield Import(path, node.lineno, module)


def _dynamic_import(call: ast.Call) -> str | None:
    function = call.func
    name = (
        function.attr if isinstance(function, ast.Attribute) else function.id if isinstance(function, ast.Name) else ""
    )
    if name not in ("import_module", "__import__") or not call.args:
        return None
    argument = call.args[0]
    return argument.value if isinstance(argument, ast.Constant) and isinstance(argument.value, str) else None


def files_of(rule: Rule, root: Path = ROOT) -> list[Path]:
    found: list[Path] = []
    for entry in rule.paths:
        target = root / entry
        found.extend(sorted(target.rglob("*.py")) if target.is_dir() else [target] if target.is_file() else [])
    return found


def broken(rule: Rule, root: Path = ROOT, first_party: frozenset[str] = FIRST_PARTY) -> list[str]:
    """`file:line imports module (why)` for each import the rule forbids."""
    own = {Path(entry).with_suffix("").name for entry in rule.paths}
    allowed = own | (rule.ours or set())
    found = []
    for path in files_of(rule, root):
        for imported in imports_of(path, root):
            top = imported.top
            if rule.ours is None:
                forbidden = top not in own and top not in sys.stdlib_module_names
            else:
                forbidden = (
                    top in NEVER
                    or top in rule.third_party
                    or (top in first_party and top not in allowed)
                    or any(fnmatch.fnmatchcase(imported.module, pattern) for pattern in rule.modules)
                )
            if forbidden:
                where = path.relative_to(root)
                found.append(f"{where}:{imported.line} imports {imported.module} ({rule.why})")
    return found


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.paths[0])
def test_the_packages_import_only_what_their_rule_allows(rule: Rule) -> None:
    assert files_of(rule), rule.paths
    assert broken(rule) == []


def test_the_project_packages_are_known() -> None:
    assert {"stacks", "lambdas", "contract", "local_runtime"} <= FIRST_PARTY


def test_a_forbidden_import_inside_a_function_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    # GIVEN a stacks module that imports a Lambda core lazily, moto at the top, and the contract relatively
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "steps.py").write_text(
        "import moto\nfrom contract import env\n\n\ndef build() -> None:\n    from lambdas.check_data import core\n"
    )
    (tmp_path / "contract").mkdir()
    (tmp_path / "contract" / "names.py").write_text("import json\nfrom . import env\nfrom stacks import paths\n")
    ours = frozenset({"stacks", "lambdas", "contract"})

    # WHEN the rules are checked, THEN each forbidden import is named with its file and line
    assert broken(RULES[0], tmp_path, ours) == [
        f"stacks/steps.py:1 imports moto ({RULES[0].why})",
        f"stacks/steps.py:6 imports lambdas.check_data ({RULES[0].why})",
    ]
    assert broken(RULES[2], tmp_path, ours) == [f"contract/names.py:3 imports stacks ({RULES[2].why})"]


def test_the_cdk_a_local_library_a_handler_and_a_literal_import_module_are_caught_in_the_operators_command(
    tmp_path: Path,
) -> None:
    # GIVEN an operator module that reaches for what its install does not have, lazily and dynamically
    (tmp_path / "operator_cli").mkdir()
    (tmp_path / "operator_cli" / "cmd.py").write_text(
        "import importlib\nfrom lambdas.common import names\n\n\ndef run() -> None:\n"
        "    import aws_cdk\n    from lambdas.check_data.handler import lambda_handler\n"
        "    importlib.import_module('slack_sdk')\n"
    )
    operator_rule = next(rule for rule in RULES if rule.paths == ("operator_cli",))

    # WHEN the rule is checked, THEN the CDK, the handler and the dynamic import are named; the pure module is not
    assert [
        line.split(" (")[0] for line in broken(operator_rule, tmp_path, frozenset({"lambdas", "operator_cli"}))
    ] == [
        "operator_cli/cmd.py:6 imports aws_cdk",
        "operator_cli/cmd.py:7 imports lambdas.check_data.handler",
        "operator_cli/cmd.py:8 imports slack_sdk",
    ]
