"""The repository explains itself: no file sends the reader to a document outside it,
and every section of docs/crm-wire.md that code cites exists there.

Comments cite wire facts as `docs/crm-wire.md §A4` (or a bare `§A4` in a file that names
docs/crm-wire.md); architecture as docs/architecture.md. Design notes kept outside the
repository are not something a reader of the code has, so naming them is an error.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCOPE = ("connectors", "sync", "mappings", "value_engine", "tests", "bench", "docs")
SCOPE_FILES = ("README.md",)
WIRE_DOC = "docs/crm-wire.md"

# Built from parts, so that this file does not name them itself.
_NOTES = "API" + "-NOTES"
FORBIDDEN = (
    "shared/" + _NOTES,
    _NOTES + ".md",
    "DESIGN" + ".md",
    "STYLE" + ".md",
)

SECTION = re.compile(r"§(0(?:\.\d+)?|[ABC]\d+(?:\.\d+)?|C)(?![\w.]*\w)")
"""A crm-wire section id as code cites it: §0, §0.1, §A4, §A1.2, §B12, §C."""
HEADING = re.compile(r"^#{1,6}\s+§(0(?:\.\d+)?|[ABC]\d+(?:\.\d+)?|C)\.?\s", re.MULTILINE)
SKIP_SUFFIXES = (".png", ".jpg", ".parquet", ".xlsx", ".gz", ".zip", ".db", ".pyc")


@cache
def tracked_files() -> tuple[Path, ...]:
    """Files in scope: tracked by git, or (outside a checkout) every file on disk."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--", *SCOPE, *SCOPE_FILES],
            cwd=ROOT, capture_output=True, check=True, text=True,
        ).stdout  # fmt: skip
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = [
            str(p.relative_to(ROOT))
            for d in SCOPE
            for p in (ROOT / d).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ] + [f for f in SCOPE_FILES if (ROOT / f).is_file()]
    paths = [ROOT / n for n in names if not n.endswith(SKIP_SUFFIXES)]
    return tuple(p for p in paths if p.is_file())


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="ignore")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_scope_is_not_empty() -> None:
    names = {rel(p) for p in tracked_files()}
    assert WIRE_DOC in names
    assert "docs/architecture.md" in names
    assert any(n.startswith("connectors/") and n.endswith(".py") for n in names)


def outside_references(paths: tuple[Path, ...]) -> list[str]:
    found = []
    for path in paths:
        for number, line in enumerate(text_of(path).splitlines(), 1):
            for needle in FORBIDDEN:
                if needle.lower() in line.lower():
                    found.append(f"{rel(path)}:{number}: names {needle}")
    return found


def test_no_code_docs_or_tests_name_documents_outside_the_repository() -> None:
    paths = tuple(p for p in tracked_files() if rel(p) not in SCOPE_FILES)
    found = outside_references(paths)
    assert not found, (
        "point these at docs/crm-wire.md §X or docs/architecture.md instead:\n" + "\n".join(found)
    )


@pytest.mark.parametrize("name", SCOPE_FILES)
def test_top_level_files_name_no_documents_outside_the_repository(name: str) -> None:
    path = ROOT / name
    assert path.is_file()
    found = outside_references((path,))
    assert not found, "point these at the files under docs/ instead:\n" + "\n".join(found)


@cache
def wire_sections() -> frozenset[str]:
    return frozenset(HEADING.findall(text_of(ROOT / WIRE_DOC)))


def test_the_wire_doc_has_its_sections() -> None:
    sections = wire_sections()
    for expected in ("0.1", "0.2", "A1", "A1.1", "A4", "A8", "A12", "B1", "B7", "B12"):
        assert expected in sections
    assert not any(SECTION.fullmatch("§" + s) is None for s in sections)


def test_every_cited_wire_section_exists() -> None:
    """Each §X in a file that cites docs/crm-wire.md is a heading there, and a file that
    cites a section says which document it means."""
    sections = wire_sections()
    missing, unnamed = [], []
    for path in tracked_files():
        if rel(path) == WIRE_DOC:
            continue
        text = text_of(path)
        cited = set()
        for number, line in enumerate(text.splitlines(), 1):
            for section in SECTION.findall(line):
                cited.add(section)
                if section not in sections:
                    missing.append(f"{rel(path)}:{number}: §{section}")
        if cited and WIRE_DOC not in text:
            unnamed.append(f"{rel(path)}: cites {', '.join(sorted(cited))}")
    assert not missing, f"sections not in {WIRE_DOC}:\n" + "\n".join(missing)
    assert not unnamed, f"name {WIRE_DOC} where these sections are cited:\n" + "\n".join(unnamed)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("see docs/crm-wire.md §A4, §A7.", ["A4", "A7"]),
        ("(docs/crm-wire.md §0.1, §A1)", ["0.1", "A1"]),
        ("§B1–§B4 and §A1.2", ["B1", "B4", "A1.2"]),
        ("§Z9 §A §12", []),
    ],
    ids=["list", "dotted", "range", "not-sections"],
)
def test_section_pattern(line: str, expected: list[str]) -> None:
    assert SECTION.findall(line) == expected
