"""Built-in XGBoost's hyperparameter validation: the algorithm mode's names, kinds, ranges and dependencies.

Source: aws/sagemaker-xgboost-container, `algorithm_mode/hyperparameter_validation.py` (the table, the same for the
1.5-1, 1.7-1 and 3.0-5 images but for the updaters and `reg:absoluteerror` that 1.7 added) and
`sagemaker_algorithm_toolkit/hyperparameter_validation.py` (the order of the checks and their messages). Values
arrive as hyperparameters.json's raw strings, as the container reads them.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from local_runtime.algorithms.xgboost.metrics import MAXIMIZE_METRICS, MINIMIZE_METRICS, TUNING_METRIC_NAMES

OBJECTIVES = (
    "aft_loss_distribution", "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson", "multi:softmax",
    "multi:softprob", "rank:pairwise", "rank:ndcg", "rank:map", "reg:linear", "reg:squarederror", "reg:logistic",
    "reg:gamma", "reg:pseudohubererror", "reg:squaredlogerror", "reg:absoluteerror", "reg:tweedie", "survival:aft",
    "survival:cox",
)  # fmt: skip
_TREE_UPDATERS = (
    "grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "sync", "refresh", "prune",
    "grow_quantile_histmaker",
)  # fmt: skip
_TREE_BUILDERS = ("grow_colmaker", "distcol", "grow_histmaker", "grow_quantile_histmaker")
_LINEAR_UPDATERS = ("shotgun", "coord_descent")
# The container's range list for `updater` (its own list, duplicates included, as its messages print it).
_UPDATER_RANGE = [
    "grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "sync", "refresh", "prune", "grow_colmaker",
    "distcol", "grow_histmaker", "grow_colmaker", "shotgun", "coord_descent", "refresh", "prune",
]  # fmt: skip
_ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}


class UserError(Exception):
    """The toolkit's UserError: a problem with the caller's hyperparameters, channels or data."""


@dataclass(frozen=True)
class Interval:
    """A numeric range printed as the toolkit prints it: `[0, 1]`, `(0, 1]`, `[1, +inf)`."""

    min_closed: float | None = None
    min_open: float | None = None
    max_closed: float | None = None
    max_open: float | None = None

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )

    def __str__(self) -> str:
        low = f"({self.min_open}, " if self.min_open is not None else "(-inf, "
        low = f"[{self.min_closed}, " if self.min_closed is not None else low
        high = f"{self.max_open})" if self.max_open is not None else "+inf)"
        high = f"{self.max_closed}]" if self.max_closed is not None else high
        return low + high


@dataclass(frozen=True)
class _Spec:
    kind: str  # int, float, categorical, list (comma-separated), tuple, nested
    range: Any = None  # an Interval, a list of choices, or None
    member: Callable[[Any], bool] | None = None  # overrides `value in range` (the container's range validators)
    required: bool = False


def _eval_metric_member(metric: str) -> bool:
    if "<function" in metric:
        raise UserError(f"User defined evaluation metric {metric} is not supported yet.")
    if "@" in metric:
        name, threshold = (part.strip() for part in metric.split("@", 1))
        if name not in ("error", "ndcg", "map"):
            raise UserError(
                f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized threshold should be "
                "one of these options: 'error', 'ndcg', 'map'."
            )
        try:
            float(threshold)
        except ValueError:
            raise UserError(f"Threshold value 't' in '{name}@t' expects float input.") from None
        return True
    return metric in MAXIMIZE_METRICS + MINIMIZE_METRICS


_UNIT, _POSITIVE, _FRACTION = (
    Interval(min_closed=0, max_closed=1),
    Interval(min_closed=0),
    Interval(min_open=0, max_closed=1),
)
SPECS: dict[str, _Spec] = {
    "num_round": _Spec("int", Interval(min_closed=1), required=True),
    "csv_weights": _Spec("int", _UNIT),
    "early_stopping_rounds": _Spec("int", Interval(min_closed=1)),
    "booster": _Spec("categorical", ["gbtree", "gblinear", "dart"]),
    "verbosity": _Spec("int", Interval(min_closed=0, max_closed=3)),
    "nthread": _Spec("int", Interval(min_closed=1)),
    "eta": _Spec("float", _UNIT),
    "gamma": _Spec("float", _POSITIVE),
    "max_depth": _Spec("int", _POSITIVE),
    "min_child_weight": _Spec("float", _POSITIVE),
    "max_delta_step": _Spec("float", _POSITIVE),
    "subsample": _Spec("float", _FRACTION),
    "colsample_bytree": _Spec("float", _FRACTION),
    "colsample_bylevel": _Spec("float", _FRACTION),
    "colsample_bynode": _Spec("float", _FRACTION),
    "lambda": _Spec("float", _POSITIVE),
    "alpha": _Spec("float", _POSITIVE),
    "tree_method": _Spec("categorical", ["auto", "exact", "approx", "hist", "gpu_hist"]),
    "sketch_eps": _Spec("float", Interval(min_open=0, max_open=1)),
    "scale_pos_weight": _Spec("float", Interval(min_open=0)),
    "updater": _Spec("list", _UPDATER_RANGE),
    "dsplit": _Spec("categorical", ["row", "col"]),
    "refresh_leaf": _Spec("int", _UNIT),
    "process_type": _Spec("categorical", ["default", "update"]),
    "grow_policy": _Spec("categorical", ["depthwise", "lossguide"]),
    "max_leaves": _Spec("int", _POSITIVE),
    "max_bin": _Spec("int", _POSITIVE),
    "predictor": _Spec("categorical", ["auto", "cpu_predictor", "gpu_predictor"]),
    "monotone_constraints": _Spec("tuple", [-1, 0, 1]),
    "interaction_constraints": _Spec("nested", Interval(min_closed=1)),
    "sample_type": _Spec("categorical", ["uniform", "weighted"]),
    "normalize_type": _Spec("categorical", ["tree", "forest"]),
    "rate_drop": _Spec("float", _UNIT),
    "one_drop": _Spec("int", _UNIT),
    "skip_drop": _Spec("float", _UNIT),
    "lambda_bias": _Spec("float", _UNIT),
    "tweedie_variance_power": _Spec("float", Interval(min_open=1, max_open=2)),
    "objective": _Spec("categorical", list(OBJECTIVES)),
    "num_class": _Spec("int", Interval(min_closed=2)),
    "base_score": _Spec("float", _POSITIVE),
    "_kfold": _Spec("int", Interval(min_closed=2)),
    "_num_cv_round": _Spec("int", Interval(min_closed=1)),
    "_tuning_objective_metric": _Spec("categorical", list(TUNING_METRIC_NAMES)),
    "eval_metric": _Spec("list", MAXIMIZE_METRICS + MINIMIZE_METRICS, member=_eval_metric_member),
    "seed": _Spec("int", Interval(min_open=-(2**31), max_open=2**31 - 1)),
    "num_parallel_tree": _Spec("int", Interval(min_closed=1)),
    "save_model_on_termination": _Spec("categorical", ["true", "false"]),
    "aft_loss_distribution": _Spec("categorical", ["normal", "logistic", "extreme"]),
    "aft_loss_distribution_scale": _Spec("float", _POSITIVE),
    "deterministic_histogram": _Spec("categorical", ["true", "false"]),
    "sampling_method": _Spec("categorical", ["uniform", "gradient_based"]),
    "prob_buffer_row": _Spec("float", Interval(min_open=1.0)),
    "use_dask_gpu_training": _Spec("categorical", ["true", "false"]),
}


def validate(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parse and check hyperparameters.json as the container does; raise UserError naming the hyperparameter.

    The checks run in the toolkit's order: aliases, required ones, unknown ones, parsing, ranges, dependencies.
    """
    values = {_ALIASES.get(name, name): value for name, value in raw.items()}
    for name, spec in SPECS.items():
        if spec.required and name not in values:
            raise UserError(f"Missing required hyperparameter: {name}")
    parsed: dict[str, Any] = {}
    for name, value in values.items():
        if name not in SPECS:
            raise UserError(f"Extraneous hyperparameter found: {name}")
        try:
            parsed[name] = _parse(SPECS[name].kind, value)
        except (ValueError, SyntaxError, TypeError) as error:
            raise UserError(
                f"Hyperparameter {name}: could not parse value (caused by {type(error).__name__})"
            ) from None
    for name, value in parsed.items():
        _check_range(name, SPECS[name], value)
    _check_dependencies(parsed)
    return parsed


def _parse(kind: str, value: Any) -> Any:
    text = str(value)
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "list":
        return text.split(",")
    if kind in ("tuple", "nested"):
        # literal_eval, where the container eval()s the tuple: the same values, without running code.
        result = ast.literal_eval(text)
        return tuple(result) if kind == "tuple" and isinstance(result, list | tuple) else result
    return text


def _check_range(name: str, spec: _Spec, value: Any) -> None:
    if spec.kind in ("list", "tuple", "nested"):
        elements = [item for inner in value for item in inner] if spec.kind == "nested" else list(value)
        member = spec.member or (lambda item: item in spec.range)
        if not all(member(item) for item in elements):
            raise UserError(f"Hyperparameter {name}: value {value} not in range {spec.range}")
        return
    if (isinstance(value, float) and not math.isfinite(value)) or value not in spec.range:
        raise UserError(f"Hyperparameter {name}: {value} is not in {spec.range}")


def _check_dependencies(values: Mapping[str, Any]) -> None:
    objective = values.get("objective")
    if objective in ("multi:softmax", "multi:softprob") and values.get("num_class") is None:
        raise UserError("Require input for parameter 'num_class' for multi-classification")
    metrics = values.get("eval_metric") or []
    # The container reads the objective without a default here; XGBoost's default objective is reg:squarederror.
    objective_name = str(objective or "reg:squarederror")
    if "auc" in metrics and not objective_name.startswith(("binary:", "rank:")):
        raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")
    if "aft-nloglik" in metrics and objective_name != "survival:aft":
        raise UserError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")
    tree_method = values.get("tree_method")
    if "monotone_constraints" in values and tree_method not in ("exact", "hist"):
        raise UserError(
            "monotone_constraints can be used only when the tree_method parameter is set to either 'exact' or 'hist'."
        )
    if "interaction_constraints" in values and tree_method not in ("exact", "hist", "approx"):
        raise UserError(
            "interaction_constraints can be used only when the tree_method parameter is set to either 'exact', "
            "'hist' or 'approx'."
        )
    _check_updater(values)


def _check_updater(values: Mapping[str, Any]) -> None:
    updater = values.get("updater")
    if updater is None:
        return
    if values.get("booster") == "gblinear":
        if not (len(updater) == 1 and updater[0] in _LINEAR_UPDATERS):
            raise UserError("Linear updater should be one of these options: 'shotgun', 'coord_descent'.")
    elif values.get("process_type") == "update":
        if not all(item in ("refresh", "prune") for item in updater):
            raise UserError("process_type 'update' can only be used with updater 'refresh' and 'prune'")
    elif not all(item in _TREE_UPDATERS for item in updater):
        raise UserError(
            "Tree updater should be selected from these options: 'grow_colmaker', 'distcol', 'grow_histmaker', "
            "'grow_skmaker', 'grow_quantile_histmaker', 'sync', 'refresh', 'prune', 'shortgun', 'coord_descent'."
        )
    elif sum(item in _TREE_BUILDERS for item in updater) > 1:
        raise UserError(
            "Only one tree grow plugin can be selected. Choose one from the following: 'grow_colmaker', 'distcol', "
            "'grow_histmaker', 'grow_skmaker'"
        )
