"""Orchestration: runs, state, schedules and the `valuesync` command."""
