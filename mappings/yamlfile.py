"""Read an ops admin's YAML file and turn validation failures into one ConfigError.

Every problem is reported at once, with the file, the line, the key path and what is
allowed, e.g. `mappings/salesforce.yaml:12 at 'objects.accounts.feilds': unknown key;
allowed: cursor, fields, object, values`.

Two things plain `yaml.safe_load` lets through are refused here, in every file valuesync
reads: a key given twice in one mapping (the second silently won, e.g. a second
connection block under the same name), and aliases that expand into more than
`MAX_NODES` nodes (a "billion laughs" alias bomb), both named with file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mappings.errors import ConfigError, ConfigProblem
from mappings.validation import validation_problems

M = TypeVar("M", bound=BaseModel)

MAX_NODES = 100_000
"""Nodes a file may hold once its aliases are expanded; real configs hold a few hundred."""
MAX_BYTES = 5_000_000
"""A config file larger than this is not something an admin wrote by hand."""


def _problem(path: Path, line: int | None, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(str(path), "", message, line)])


def _check_keys(node: yaml.Node, path: Path) -> None:
    """Refuse a key given twice in one mapping, and aliases that expand beyond MAX_NODES."""
    sizes: dict[int, int] = {}

    def size(n: yaml.Node, depth: int) -> int:
        if id(n) in sizes:
            return sizes[id(n)]
        if depth > 200:
            raise _problem(path, n.start_mark.line + 1, "nested more than 200 levels deep")
        sizes[id(n)] = 1  # a recursive alias counts once instead of looping
        total = 1
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in n.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in seen:
                        raise _problem(
                            path,
                            line,
                            f"the key '{key.value}' is given twice in one mapping (first on "
                            f"line {seen[key.value]}); YAML would silently keep only the "
                            "last one: remove or rename one of them",
                        )
                    seen[key.value] = line
                total += size(key, depth + 1) + size(value, depth + 1)
        elif isinstance(n, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in n.value)
        if total > MAX_NODES:
            raise _problem(
                path,
                n.start_mark.line + 1,
                f"the aliases (*name) here expand to more than {MAX_NODES:,} values; "
                "a config file needs far fewer: write the values out instead of nesting aliases",
            )
        sizes[id(n)] = total
        return total

    size(node, 0)


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
        if len(text) > MAX_BYTES:
            raise _problem(path, None, f"larger than {MAX_BYTES:,} bytes; is it the right file?")
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            if node is not None:
                _check_keys(node, path)
            self.data: Any = yaml.SafeLoader(text).construct_document(node) if node else None
        except RecursionError:
            raise _problem(path, None, "nested too deeply to read; flatten the file") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
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
    except UnicodeDecodeError as exc:
        line = Path(path).read_bytes()[: exc.start].count(b"\n") + 1
        raise _problem(
            Path(path), line, "the file is not UTF-8 text; save it as UTF-8 and check again"
        ) from None
    return YamlDoc(Path(path), text)


def problems_from(
    exc: ValidationError, model: type[BaseModel], doc: YamlDoc
) -> list[ConfigProblem]:
    """One ConfigProblem per pydantic error, with key path, line and allowed values."""
    return validation_problems(exc, model, str(doc.path), doc.line)


def require_mapping(doc: YamlDoc) -> None:
    """A ConfigError unless the file holds `key: value` lines at the top."""
    if isinstance(doc.data, dict):
        return
    found = "an empty file" if doc.data is None else type(doc.data).__name__
    raise ConfigError(
        [
            ConfigProblem(
                str(doc.path),
                "",
                f"expected a mapping of keys at the top, found {found}; start from the file "
                "`valuesync init` writes",
                doc.line(()) if doc.data is not None else None,
            )
        ]
    )


def load_model(path: Path, model: type[M]) -> M:
    """Read `path` and validate it as `model`; every problem at once in one ConfigError."""
    doc = read_yaml(path)
    require_mapping(doc)
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, model, doc)) from None
