"""The demo: the story `make demo` tells (three scheduled runs in the local runtime), its datasets (the bundled
diabetes data, the generated churn data) and the pipelines configurations it and `make serve` deploy."""
