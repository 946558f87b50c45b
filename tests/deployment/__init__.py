"""The real-deployment and browser checks: scripts CI runs as its third stage (docs/deployment-check.md)."""
