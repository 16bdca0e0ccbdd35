"""A local stand-in for SageMaker's Linear Learner: CSV in (label first), a linear model out, LL's metric names.

`python -m local_runtime.algorithms.linear_learner train` runs it in a training job's directory layout
(entry_point); the model contract that hosting serves is in model, the checks of hyperparameters and channels in
inputs, the fit and its metrics in fit.
"""

from local_runtime.algorithms.linear_learner.entry_point import HOST, METRIC_DEFINITIONS, main, train
from local_runtime.algorithms.linear_learner.fit import evaluate, fit
from local_runtime.algorithms.linear_learner.inputs import (
    KNOWN_HYPERPARAMETERS,
    ClientError,
    Dataset,
    Hyperparameters,
    read_channel,
)
from local_runtime.algorithms.linear_learner.model import (
    BINARY_CLASSIFIER,
    MODEL_FILE,
    MODEL_FORMAT,
    PREDICTOR_TYPES,
    REGRESSOR,
    LinearLearnerModel,
    ModelLoadError,
)

__all__ = [
    "BINARY_CLASSIFIER",
    "HOST",
    "KNOWN_HYPERPARAMETERS",
    "METRIC_DEFINITIONS",
    "MODEL_FILE",
    "MODEL_FORMAT",
    "PREDICTOR_TYPES",
    "REGRESSOR",
    "ClientError",
    "Dataset",
    "Hyperparameters",
    "LinearLearnerModel",
    "ModelLoadError",
    "evaluate",
    "fit",
    "main",
    "read_channel",
    "train",
]
