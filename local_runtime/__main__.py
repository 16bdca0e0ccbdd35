"""`python -m local_runtime`: see local_runtime/cli.py."""

import sys

from local_runtime.cli import main

if __name__ == "__main__":
    sys.exit(main())
