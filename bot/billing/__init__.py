"""The billing backend: the system of record the assistant acts on (app environment only)."""
