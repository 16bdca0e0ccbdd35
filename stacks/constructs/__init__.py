"""One construct per concern of a pipeline stack."""
