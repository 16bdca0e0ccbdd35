"""The dependencies layer's lock: resolved for the functions' runtime, every pin hashed, in step with its input."""

from __future__ import annotations

import re

from stacks import layer_lock
from stacks.constructs.lambda_assets import RUNTIME, RUNTIME_PROVIDED_DISTRIBUTIONS
from stacks.paths import LAYER_LOCK, LAYER_REQUIREMENTS

STALE_HINT = "run `make lock` (python -m stacks.layer_lock) and commit lambdas/dependencies/requirements.lock"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(?P<version>\S+)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    found = (_PIN.match(line) for line in text.splitlines())
    return {normalized(match["name"]): match["version"] for match in found if match}


def test_the_lock_is_resolved_for_the_functions_runtime() -> None:
    assert layer_lock.locked_for(LAYER_LOCK.read_text()) == (
        RUNTIME.name.removeprefix("python"),
        layer_lock.UV_PLATFORM,
    ), f"the layer's lock was resolved for another runtime than {RUNTIME.name}: {STALE_HINT}"


def test_every_requirement_is_locked_at_its_pinned_version() -> None:
    locked = pins(LAYER_LOCK.read_text())

    for name, version in pins(LAYER_REQUIREMENTS.read_text()).items():
        assert locked.get(name) == version, f"{name}=={version} is locked at {locked.get(name)}: {STALE_HINT}"


def test_every_locked_distribution_is_hashed_and_none_is_the_runtimes_own() -> None:
    text = LAYER_LOCK.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1])

    assert {normalized(name) for name in pins(text)}.isdisjoint(RUNTIME_PROVIDED_DISTRIBUTIONS)
    assert len(entries) == len(pins(text)) >= 3
    assert all("--hash=sha256:" in entry for entry in entries), entries


def test_the_lock_command_targets_the_runtime_and_leaves_out_what_it_ships() -> None:
    command = layer_lock.lock_command("uv", LAYER_LOCK)

    assert command[command.index("--python-version") + 1] == RUNTIME.name.removeprefix("python")
    assert "--generate-hashes" in command
    left_out = {command[i + 1] for i, flag in enumerate(command) if flag == "--no-emit-package"}
    assert left_out == RUNTIME_PROVIDED_DISTRIBUTIONS
