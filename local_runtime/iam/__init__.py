"""IAM for the local runtime."""
