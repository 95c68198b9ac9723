"""The ops admin's YAML (field mappings, value model) and the canonical schema every part shares."""
