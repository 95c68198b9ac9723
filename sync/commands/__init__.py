"""The `valuesync` sub-commands, one module each; `sync/cli.py` assembles them."""
