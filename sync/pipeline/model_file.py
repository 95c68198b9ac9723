"""Reading the value model file: YAML -> `value_engine.parse_value_model`, with line numbers.

The value engine validates the model without touching files; this module reads the file
and adds the line of each problem, so the ops admin sees `value_model.yaml:42 at
'fit.criteria.3.weight': Input should be greater than or equal to 0`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mappings import SHIPPED_VALUE_MODEL
from mappings.errors import ConfigError
from mappings.yamlfile import read_yaml, require_mapping
from value_engine.model import ValueModel
from value_engine.parse import parse_value_model

"""The default value model shipped with valuesync."""


def load_value_model(path: Path | None = None) -> ValueModel:
    """Read and validate a value model file (default: the shipped one); all problems at once."""
    source = Path(path) if path is not None else SHIPPED_VALUE_MODEL
    doc = read_yaml(source)
    require_mapping(doc)
    try:
        return parse_value_model(doc.data, str(source))
    except ConfigError as exc:
        problems = [
            replace(p, line=p.line or doc.line(tuple(p.key_path.split(".")) if p.key_path else ()))
            for p in exc.problems
        ]
        problems.sort(key=lambda p: p.line or 0)
        raise ConfigError(problems) from None
