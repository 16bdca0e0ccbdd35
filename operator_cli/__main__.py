"""`python -m operator_cli`: the `sagemaker-retraining` command without the console script (see operator_cli/cli.py)."""

import sys

from operator_cli.cli import main

if __name__ == "__main__":
    sys.exit(main())
