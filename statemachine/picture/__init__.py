"""The workflow as a picture: DOT generated from the ASL in pure Python, rendered to SVG and PNG by Graphviz.

`python -m statemachine.picture` (or `make picture`) rewrites docs/workflow.svg and docs/workflow.png. Both carry
the sha256 of the DOT they were drawn from, so a test can tell a stale picture without Graphviz: it regenerates
the DOT from the current ASL and compares the hashes.

graph reads the ASL's transitions, happy path, loops and hubs; dot writes them as DOT; stamp puts the DOT's hash
into the pictures and reads it back; render runs Graphviz and is the command.
"""
