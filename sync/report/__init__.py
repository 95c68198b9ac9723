"""The value-matrix report: data (pure), figures (plotly), html, png (matplotlib), sources.
`write_report` (build.py) is the entry."""

DEFAULT_MAX_POINTS = 5000
"""Accounts drawn in the matrix before it shows a sample (and says so)."""
