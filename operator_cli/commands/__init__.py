"""The command line's commands, one module per group: each adds its parsers and handles its arguments."""
