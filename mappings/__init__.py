"""The ops admin's YAML (field mappings, value model) and the canonical schema every part shares."""

DEFAULT_FILE = "valuesync.yaml"
"""The project file every command reads unless given --project (kept here, import-light,
so the CLI can show it in --help without loading the config models)."""
