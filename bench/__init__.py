"""Benchmarks: one script per figure of the README's Performance section, all of them run by `make bench`."""
