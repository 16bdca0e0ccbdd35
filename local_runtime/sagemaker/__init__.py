"""SageMaker emulated for real: training jobs run an algorithm, endpoints serve a model over HTTP."""
