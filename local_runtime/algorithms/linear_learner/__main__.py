"""`python -m local_runtime.algorithms.linear_learner train`: the command a linear-learner training job runs."""

import sys

from local_runtime.algorithms.linear_learner.entry_point import main

if __name__ == "__main__":
    sys.exit(main())
