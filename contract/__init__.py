"""The names both sides of a deployed pipeline share: what the stacks set and the functions read.

Environment variables (`env`), metrics (`metrics`), the stack's outputs (`outputs`), the workflow's steps
(`steps`, the registry), EventBridge detail-types and the statuses they carry (`events`), resource names and tag
keys (`names`), and the status-check schedule whose count the stack budgets for (`polling`).

Arrows point here: `stacks/` and `lambdas/` import the contract, never each other; the contract imports nothing
but the standard library, so it loads without the CDK and ships in the functions' code asset beside `lambdas/`
(see stacks/constructs/lambda_assets.py). tests/unit/test_import_rules.py enforces both.
"""
