"""Read an ops admin's YAML file and turn validation failures into one ConfigError.

Every problem is reported at once, with the file, the line, the key path and what is
allowed, e.g. `mappings/salesforce.yaml:12 at 'objects.accounts.feilds': unknown key;
allowed: cursor, fields, object, values`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mappings.errors import ConfigError, ConfigProblem
from mappings.validation import validation_problems

M = TypeVar("M", bound=BaseModel)


def _lines(node: yaml.Node, path: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = (*path, str(key.value))
            out[k] = key.start_mark.line + 1
            _lines(value, k, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, str(i)), out)


class YamlDoc:
    """A parsed YAML file and the line of every key path in it."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        try:
            self.data: Any = yaml.safe_load(text)
            node = yaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(
                [ConfigProblem(str(path), "", f"not valid YAML: {problem}; fix the syntax", line)]
            ) from None
        self.lines: dict[tuple[str, ...], int] = {}
        if node is not None:
            _lines(node, (), self.lines)

    def line(self, key_path: tuple[str, ...]) -> int | None:
        """The line of the deepest part of `key_path` found in the file."""
        for n in range(len(key_path), -1, -1):
            if key_path[:n] in self.lines:
                return self.lines[key_path[:n]]
        return None


def read_yaml(path: Path) -> YamlDoc:
    """Parse a YAML file; a missing or unreadable file is a ConfigError that names it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(str(path), "", f"cannot read the file ({exc.strerror}); check the path")]
        ) from None
    return YamlDoc(Path(path), text)


def problems_from(
    exc: ValidationError, model: type[BaseModel], doc: YamlDoc
) -> list[ConfigProblem]:
    """One ConfigProblem per pydantic error, with key path, line and allowed values."""
    return validation_problems(exc, model, str(doc.path), doc.line)


def load_model(path: Path, model: type[M]) -> M:
    """Read `path` and validate it as `model`; every problem at once in one ConfigError."""
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError([ConfigProblem(str(path), "", "expected a mapping of keys at the top")])
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, model, doc)) from None
