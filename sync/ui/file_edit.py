"""Saving an edited project file: round-trip YAML, a diff, an atomic write, the previous
version kept, the change recorded in the state database.

The console edits the file's YAML tree with ruamel.yaml's round-trip mode, so comments,
key order and flow style stay as the ops admin wrote them; only the edited values change.
A save names the digest of the text the page was built from: when the file changed since
(another console, a text editor), nothing is written and the page says so.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from mappings.errors import ConfigProblem

PREVIOUS_SUFFIX = ".prev"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_tree(text: str) -> Any:
    """The YAML tree of a file's text, comments and order kept."""
    return _yaml().load(text)


def dump_tree(tree: Any) -> str:
    buf = io.StringIO()
    _yaml().dump(tree, buf)
    return buf.getvalue()


def set_path(tree: Any, path: Sequence[str], value: Any) -> None:
    """Set (value not None) or remove (None) the key at `path`, creating maps on the way."""
    node = tree
    for key in path[:-1]:
        child = node.get(key)
        if child is None:
            if value is None:
                return
            from ruamel.yaml.comments import CommentedMap

            child = CommentedMap()
            node[key] = child
        node = child
    last = path[-1]
    if value is None:
        if last in node:
            del node[last]
    elif node.get(last) != value:
        node[last] = value


def unified_diff(old: str, new: str, name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"{name} (saved)",
        tofile=f"{name} (edited)",
    )
    return "".join(lines)


def stale(path: Path, base_digest: str) -> ConfigProblem | None:
    """A problem when the file no longer holds the text the page was built from."""
    if digest(path.read_text(encoding="utf-8")) == base_digest:
        return None
    return ConfigProblem(
        str(path),
        "",
        "the file changed since this page was opened (saved from another console or an "
        "editor); nothing was saved: reload the page to see the current version",
    )


def candidate(path: Path, text: str) -> Path:
    """The edited text in a temporary file beside `path` (relative paths resolve the same)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check.yaml", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(name)


def write_atomically(path: Path, text: str) -> Path:
    """Keep the current file as `<name>.prev`, then replace it in one rename; returns .prev."""
    previous = path.with_name(path.name + PREVIOUS_SUFFIX)
    shutil.copy2(path, previous)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return previous


def renamed(problems: Sequence[ConfigProblem], tmp: Path, real: Path) -> list[ConfigProblem]:
    """Problems found in the temporary copy, told against the real file."""
    out = []
    for p in problems:
        file = p.file.replace(str(tmp), str(real))
        message = p.message.replace(str(tmp), str(real)).replace(tmp.name, real.name)
        out.append(ConfigProblem(file, p.key_path, message, p.line))
    return out
