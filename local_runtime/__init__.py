"""The offline AWS only: the APIs the workflow uses, served on a loopback port (moto and its extensions, Lambda
invoked in-process, EventBridge and Scheduler delivery, faults, a deployed template, SageMaker emulated for real,
a local Slack). `python -m local_runtime demo | serve | synth`; the operator's command is operator_cli's."""
