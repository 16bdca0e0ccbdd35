"""SageMaker's built-in XGBoost (algorithm mode) run with the real `xgboost` library, as its container runs it.

`python -m local_runtime.algorithms.xgboost train` trains in a training job's directory layout (entry_point); the
hyperparameter checks are in hyperparameters, the channels and data files in data, the metric names and SageMaker's
metric definitions in metrics, the inference contract in serve (imported by the serving worker only). The facts come
from the public aws/sagemaker-xgboost-container repository; each module names its sources.
"""

from local_runtime.algorithms.xgboost.entry_point import MODEL_FILE, AlgorithmError, main, train, version_note
from local_runtime.algorithms.xgboost.hyperparameters import UserError, validate
from local_runtime.algorithms.xgboost.metrics import METRIC_DEFINITIONS

__all__ = [
    "METRIC_DEFINITIONS",
    "MODEL_FILE",
    "AlgorithmError",
    "UserError",
    "main",
    "train",
    "validate",
    "version_note",
]
