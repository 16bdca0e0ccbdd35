"""Local implementations of SageMaker's built-in algorithms, with the same data and model contracts."""
