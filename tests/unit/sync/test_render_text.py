"""What the CLI prints is the data as written: ids are never cut at 80 columns, and text
from files, values and messages is never read as Rich markup."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from mappings.errors import ConfigProblem
from sync.cli.render import frame_table, problems_table

SF_ID = "001Dn00000ABCDEFGH"


def printed(renderable: object, width: int = 80) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None).print(renderable)
    return buf.getvalue()


def test_an_id_column_is_never_wrapped_or_cut_at_80_columns() -> None:
    frame = pd.DataFrame(
        {
            "object": ["accounts"],
            "record_id": [SF_ID],
            "field": ["Value_Quadrant__c"],
            "code": ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"],
            "message": ["bad value for restricted picklist field: Fix or Reprice " * 3],
        }
    )
    table = frame_table("Rejected records", frame)
    assert table is not None
    assert SF_ID in printed(table, 80)


def test_message_text_is_not_markup() -> None:
    problem = ConfigProblem("a[/bold].yaml", "outputs.[red]x", "value '[/bold]' is [b]odd[/b]", 3)
    text = printed(problems_table([problem]), 200)
    assert "a[/bold].yaml" in text and "outputs.[red]x" in text
    assert "value '[/bold]' is [b]odd[/b]" in text
    cells = printed(frame_table("Quarantined", pd.DataFrame({"reason": ["[/]oops"]})), 80)
    assert "[/]oops" in cells
