"""Where the stacks find the project's sources, whatever the working directory of the synth."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = PROJECT_ROOT / "lambdas"
CONTRACT_DIR = PROJECT_ROOT / "contract"
# What the functions' code asset holds: the handlers and the contract they import, each under its package name.
CODE_SOURCES = (LAMBDAS_DIR, CONTRACT_DIR)
DEPENDENCIES_DIR = LAMBDAS_DIR / "dependencies"
STATE_MACHINE_ASL = PROJECT_ROOT / "statemachine" / "retraining.asl.json"
LAYER_REQUIREMENTS = DEPENDENCIES_DIR / "requirements.txt"
LAYER_LOCK = DEPENDENCIES_DIR / "requirements.lock"
