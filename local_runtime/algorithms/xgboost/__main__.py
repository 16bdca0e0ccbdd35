"""`python -m local_runtime.algorithms.xgboost train`: the command a built-in XGBoost training job runs."""

import sys

from local_runtime.algorithms.xgboost.entry_point import main

if __name__ == "__main__":
    sys.exit(main())
