"""Fixtures of the report tests: the sandbox sample population, scored by the engine."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from connectors.sandbox.sampledata import generate, write_files
from sync.cli.score import read_tables, write_scores
from sync.pipeline.model_file import load_value_model
from value_engine import compute

AS_OF = date(2026, 7, 1)  # the sample data ends on 2026-06-30; the engine's as_of is exclusive


@pytest.fixture(scope="session")
def sample_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(input folder with the canonical files, scores folder as `valuesync score` writes it)."""
    root = tmp_path_factory.mktemp("report-sample")
    write_files(generate(300, seed=11), root / "input")
    model = load_value_model(None)
    result = compute(read_tables(root / "input", model), model, as_of=AS_OF)
    write_scores(result, root / "scores", "csv")
    return root / "input", root / "scores"
