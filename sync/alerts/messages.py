"""Every notification as plain text and as HTML (the same content), plus a JSON payload.

The HTML is self-contained (inline styles, no scripts, no remote images) so that mail
clients render it as written; every value is escaped. Messages name accounts and
figures an account manager needs, never a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import pandas as pd

from value_engine.alerts import Finding

STYLE = (
    "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2933;"
    "max-width:760px;margin:0 auto;padding:16px"
)
SEVERITY_COLOURS = {"critical": "#c0392b", "warning": "#d68910", "info": "#2471a3", "ok": "#1e8449"}


def body(
    subject: str,
    text: str,
    html: str,
    severity: str,
    payload: dict[str, Any],
    attachments: Sequence[str] = (),
) -> dict[str, Any]:
    """The stored form of a message (vs_alert_events.body)."""
    return {
        "subject": subject,
        "text": text,
        "html": html,
        "severity": severity,
        "payload": payload,
        "attachments": list(attachments),
    }


def page(title: str, severity: str, inner: str) -> str:
    colour = SEVERITY_COLOURS.get(severity, "#2471a3")
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
        f'<body style="margin:0;background:#f4f6f8"><div style="{STYLE}">'
        f'<div style="border-left:6px solid {colour};background:#fff;padding:12px 16px">'
        f'<h2 style="margin:0 0 8px 0;font-size:18px">{escape(title)}</h2>{inner}</div>'
        '<p style="font-size:12px;color:#7b8794">Sent by valuesync.</p></div></body></html>'
    )


def table_html(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(
        f'<th style="text-align:left;padding:4px 8px;border-bottom:2px solid #cbd2d9">'
        f"{escape(str(c))}</th>"
        for c in columns
    )
    cells = "".join(
        "<tr>"
        + "".join(
            f'<td style="padding:4px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top">'
            f"{escape(_cell(v))}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    return (
        '<table style="border-collapse:collapse;font-size:13px;width:100%">'
        f"<thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"
    )


def table_text(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    texts = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(str(c))] + [len(r[i]) for r in texts]) for i, c in enumerate(columns)]
    widths = [min(w, 48) for w in widths]
    line = "  ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v[:w].ljust(w) for v, w in zip(r, widths, strict=True)) for r in texts]
    return "\n".join(line.rstrip() for line in out)


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}"
    return str(v)


def status_change(
    project: str, connection: str, finding: Finding, recovered: bool, run_id: int | None
) -> dict[str, Any]:
    """A trigger started firing, or recovered."""
    state = "recovered" if recovered else finding.severity.upper()
    subject = f"[valuesync {connection}] {state}: {finding.trigger}"
    lines = [
        f"Trigger:    {finding.trigger} ({finding.kind})",
        f"Connection: {connection} (project {project})",
        f"Run:        {run_id if run_id is not None else '-'}",
        f"Status:     {'recovered' if recovered else 'firing'}",
        "",
        finding.summary,
    ]
    if recovered:
        lines.append("\nThis notice closes the alert; you will hear again if it fires anew.")
    else:
        lines.append("\nYou will not hear about this trigger again until its status changes.")
    text = "\n".join(lines)
    html = page(
        subject,
        "ok" if recovered else finding.severity,
        "".join(f"<p style='margin:4px 0'>{escape(line)}</p>" for line in lines if line),
    )
    payload = {
        "event": "recovered" if recovered else "fired",
        "trigger": finding.trigger,
        "kind": finding.kind,
        "connection": connection,
        "run_id": run_id,
        "severity": finding.severity,
        "summary": finding.summary,
        "details": finding.details,
    }
    return body(subject, text, html, "info" if recovered else finding.severity, payload)


MOVER_COLUMNS = ("Account", "From", "To", "CLV", "Action now", "Why")


def mover_rows(moved: pd.DataFrame) -> list[list[Any]]:
    """One row per moved account, in MOVER_COLUMNS order."""

    def col(name: str) -> list[Any]:
        return list(moved[name]) if name in moved.columns else [None] * len(moved)

    names = [
        n if n is not None and n == n else a
        for n, a in zip(col("name"), col("account_id"), strict=True)
    ]
    return [
        list(r)
        for r in zip(
            names,
            col("from_quadrant"),
            col("to_quadrant"),
            col("clv"),
            col("account_action"),
            col("reason"),
            strict=True,
        )
    ]


def migrations(
    connection: str,
    trigger: str,
    severity: str,
    owner: str,
    moved: pd.DataFrame,
    run_id: int | None,
) -> dict[str, Any]:
    """Accounts of one owner that moved between quadrants in one run."""
    subject = f"[valuesync {connection}] {len(moved)} account(s) of {owner} moved quadrant"
    rows = mover_rows(moved)
    intro = (
        f"{len(moved)} account(s) owned by {owner} moved between value quadrants "
        f"(trigger {trigger}, run {run_id})."
    )
    text = f"{intro}\n\n{table_text(MOVER_COLUMNS, rows)}\n"
    html = page(subject, severity, f"<p>{escape(intro)}</p>{table_html(MOVER_COLUMNS, rows)}")
    payload = {
        "event": "quadrant_migration",
        "trigger": trigger,
        "connection": connection,
        "owner_id": owner,
        "run_id": run_id,
        "accounts": [
            {"account_id": str(a), "from": f, "to": t}
            for a, f, t in zip(
                moved["account_id"], moved["from_quadrant"], moved["to_quadrant"], strict=True
            )
        ],
    }
    return body(subject, text, html, severity, payload)


def test_message(project: str, channel: str) -> dict[str, Any]:
    """What `valuesync alerts test` sends."""
    subject = f"[valuesync] test message on channel {channel}"
    text = (
        f"This is a test of the '{channel}' channel of project {project}.\n"
        "If you can read it, alerts reach you here."
    )
    html = page(subject, "info", "".join(f"<p>{escape(t)}</p>" for t in text.splitlines()))
    return body(subject, text, html, "info", {"event": "test", "channel": channel})
