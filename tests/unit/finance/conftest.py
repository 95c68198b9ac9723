"""Helpers for the finance tests: a mapping for one file, built from the shipped one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mappings.finance import FinanceMapping, load_finance_mapping

DATA = Path(__file__).parents[2] / "data" / "finance"


def mapping_for(path: Path | str, *, kind: str = "csv", **changes: Any) -> FinanceMapping:
    """The shipped mapping pointed at `path`; `changes` replace top-level or source keys."""
    raw = load_finance_mapping().model_dump(exclude_none=True)
    table = raw["tables"]["finance"]
    table["source"] = {"kind": kind, "path": str(path)}
    for key in ("delimiter", "decimal", "thousands", "encoding", "sheet"):
        if key in changes:
            table["source"][key] = changes.pop(key)
    for key in ("columns", "allow_negative"):
        if key in changes:
            table[key] = changes.pop(key)
    raw.update(changes)
    return FinanceMapping.model_validate(raw)


@pytest.fixture
def finance_mapping():
    """`finance_mapping(path, **changes)` -> a FinanceMapping for that file."""
    return mapping_for
