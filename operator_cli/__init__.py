"""The `sagemaker-retraining` command: start, read and follow runs, decide on models, ask lineage, predict and
transform, against a pipeline deployed on AWS (`--profile/--region`) or in the local runtime (`--endpoint-url`).

It talks to AWS through boto3 only: importing it never imports moto or the local runtime.
"""
