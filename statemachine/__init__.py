"""The workflow in Amazon States Language, and the command that draws it."""
