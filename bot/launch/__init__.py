"""The launchers: make run (runner), make run-prod (production, with its HAProxy configuration and
Redis account), make shell (shell)."""
