"""Local stand-ins for the external services the steps talk to, reachable over real HTTP."""
