"""IAM for the local runtime: the roles a deployed template defines (roles), and policies evaluated as IAM evaluates
them (policy)."""
