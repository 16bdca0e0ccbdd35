"""The scripted-steps harness of test_branches.py (its local AWS and state machine), for the other branch modules."""

from tests.unit.statemachine.test_branches import local_aws, pipeline  # noqa: F401 (fixtures)
