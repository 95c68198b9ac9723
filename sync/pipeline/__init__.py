"""One run of a connection, step by step: setup, pull, compute, diff, push, rollback.
`runner.py` is the entry (`run`, `plan`, `open_state`); each step has its own module."""
