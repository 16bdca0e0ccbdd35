"""The CDK side of the project: typed configuration, one stack per pipeline, and its constructs."""
