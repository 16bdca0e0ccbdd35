"""IAM for the local runtime: the roles a deployed template defines, and policies evaluated as IAM evaluates them."""
