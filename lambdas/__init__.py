"""The workflow's Lambda functions: one package per step, plus what they share in `common`."""
