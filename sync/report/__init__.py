"""The value-matrix report: data (pure), figures (plotly), html, png (matplotlib), sources.
`write_report` (build.py) is the entry."""
