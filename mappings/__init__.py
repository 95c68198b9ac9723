"""The ops admin's YAML (field mappings, value model) and the canonical schema every part shares."""

from pathlib import Path

DEFAULT_FILE = "valuesync.yaml"
"""The project file every command reads unless given --project (kept here, import-light,
so the CLI can show it in --help without loading the config models)."""

SHIPPED_VALUE_MODEL = Path(__file__).parent / "value_model.yaml"
"""The value model valuesync ships (every key at its default, with comments)."""
