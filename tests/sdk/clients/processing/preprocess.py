"""A processing script as SKLearnProcessor runs it: reads the input CSV, scales its feature, writes train and test.

The directories come as arguments, defaulting to the paths SageMaker mounts: the local runtime maps container paths
in a job's command, not inside its files.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from sklearn.preprocessing import StandardScaler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input-dir", default="/opt/ml/processing/input")
    parser.add_argument("--output-dir", default="/opt/ml/processing/output")
    parser.add_argument("--test-rows", type=int, default=10)
    arguments = parser.parse_args()
    data = np.loadtxt(os.path.join(arguments.input_dir, "raw.csv"), delimiter=",", ndmin=2)
    data[:, 1:] = StandardScaler().fit_transform(data[:, 1:])
    for name, rows in (("train", data[arguments.test_rows :]), ("test", data[: arguments.test_rows])):
        os.makedirs(os.path.join(arguments.output_dir, name), exist_ok=True)
        np.savetxt(os.path.join(arguments.output_dir, name, f"{name}.csv"), rows, delimiter=",", fmt="%.6f")
    print(f"processed {len(data)} rows")


if __name__ == "__main__":
    main()
