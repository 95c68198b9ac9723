"""The `valuesync` command: app.py builds it (Typer + Rich); one module per command.

Importing this package is cheap: heavy libraries load inside the commands that need them.
"""
