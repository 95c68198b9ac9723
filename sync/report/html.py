"""The report as one self-contained HTML page: plotly.js, data and styles all inline.

The page loads nothing from elsewhere (no CDN, no fonts, no MathJax), so it works offline
and can be mailed. plotly.js is embedded once in the head; each chart is a div plus the
script that draws it. Tables are plain HTML, every value escaped.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from sync.report import figures as figs
from sync.report.data import SHARE_OF, ReportData
from value_engine.explain import money

CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"scale": 2}}
CSS = """
body{font-family:Inter,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#f5f7f8;
color:#263238}
header{background:#263238;color:#fff;padding:18px 32px}header h1{margin:0;font-size:24px}
header p{margin:4px 0 0;color:#cfd8dc;font-size:13px}
main{max-width:1280px;margin:0 auto;padding:16px 32px 48px}
section{background:#fff;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.08);
padding:16px 24px;margin:16px 0}h2{font-size:19px;margin:4px 0 12px}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;font-size:13px;margin:6px 0 10px}
th,td{padding:4px 10px;border-bottom:1px solid #eceff1;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#eceff1}
.note{background:#fff8e1;border-left:4px solid #ffb300;padding:8px 12px;font-size:13px}
.headline{font-size:16px;font-weight:600;color:#bf360c}.muted{color:#78909c;font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:12px}
""".replace("\n", "")


def render(data: ReportData, png_name: str | None = None) -> str:
    """The whole page as a string."""
    sections = [
        _matrix(data, png_name),
        _shares(data),
        _segments(data),
        _movement(data),
        _whatif(data),
        _drivers(data),
        _health(data),
    ]
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sub = " · ".join([f"{data.total_accounts:,} accounts", f"created {created}", *data.notes])
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(data.title)}</title><style>{CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<header><h1>{_e(data.title)}</h1><p>{_e(sub)}</p></header><main>"
        + "".join(sections)
        + "</main></body></html>"
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _figure(fig: go.Figure, div_id: str) -> str:
    return str(
        fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG, div_id=f"fig-{div_id}")
    )


def _section(title: str, *body: str, anchor: str) -> str:
    return f"<section id='{anchor}'><h2>{_e(title)}</h2>{''.join(body)}</section>"


def table(frame: pd.DataFrame, formats: dict[str, Callable[[object], str]] | None = None) -> str:
    """An HTML table of a frame; `formats` maps columns to value formatters."""
    formats = formats or {}
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for rec in frame.itertuples(index=False):
        cells = [formats.get(c, _plain)(v) for c, v in zip(frame.columns, rec, strict=True)]
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _plain(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _num(v: object) -> float:
    return float(v) if isinstance(v, int | float) else float(str(v))


def _pct(v: object) -> str:
    return f"{float(v):.1%}".replace("%", " %")  # type: ignore[arg-type]


def _matrix(data: ReportData, png_name: str | None) -> str:
    note = f"<p class='note'>{_e(data.sampled)}</p>" if data.sampled else ""
    png = f" A static picture for slides: <b>{_e(png_name)}</b> next to this file." * bool(png_name)
    up, across = data.axes
    intro = (
        f"<p class='muted'>Every account as a point: {_e(up)} score up, {_e(across)} score "
        "across; the dashed lines are the quadrant thresholds; point size is revenue over the "
        f"last 12 months. Hover a point for its figures and reason.{png}</p>"
    )
    return _section(
        "1. The value matrix", intro, note, _figure(figs.matrix(data), "matrix"), anchor="matrix"
    )


def _shares(data: ReportData) -> str:
    t = data.shares.copy()
    cur = data.currency
    cols = {"quadrant": "Quadrant", "accounts": "Accounts", "accounts_share": "% accounts"}
    for col in ("revenue_12m", "margin_12m", "clv"):
        cols[col] = SHARE_OF[col]
        cols[f"{col}_share"] = f"% {SHARE_OF[col].split(' (')[0].lower()}"
    shown = t[list(cols)].rename(columns=cols)
    fmt: dict[str, Callable[[object], str]] = {
        name: _pct for key, name in cols.items() if key.endswith("_share")
    }
    for col in ("revenue_12m", "margin_12m", "clv"):
        fmt[cols[col]] = lambda v: money(_num(v), cur)
    lines = "".join(f"<p class='headline'>{_e(h)}</p>" for h in data.headlines)
    return _section(
        "2. Revenue is not value",
        lines,
        _figure(figs.shares(data), "shares"),
        table(shown, fmt),
        anchor="shares",
    )


SEGMENT_HEADERS = {
    "segment": "Segment",
    "accounts": "Accounts",
    "customers": "Customers",
    "revenue_12m": "Revenue (12m)",
    "acquisition_cost_per_year": "Acquisition / year",
    "sales_cost_12m": "Sales (12m)",
    "delivery_cost_12m": "Delivery (12m)",
    "service_cost_12m": "Service (12m)",
    "gross_margin_12m": "Gross margin (12m)",
    "net_contribution_12m": "Net contribution (12m)",
    "alignment": "Alignment",
    "ltv_to_cac": "LTV:CAC",
    "cac_payback_months": "CAC payback (months)",
}
SEGMENT_MONEY = (
    "revenue_12m", "acquisition_cost_per_year", "sales_cost_12m", "delivery_cost_12m",
    "service_cost_12m", "gross_margin_12m", "net_contribution_12m",
)  # fmt: skip


def segment_formats(currency: str) -> dict[str, Callable[[object], str]]:
    """Formatter per shown segment column: money in the project currency, ratios to 0.1."""
    fmt: dict[str, Callable[[object], str]] = {
        SEGMENT_HEADERS[c]: lambda v: _or_dash(v, lambda x: money(x, currency))
        for c in SEGMENT_MONEY
    }
    fmt[SEGMENT_HEADERS["alignment"]] = lambda v: _or_dash(v, lambda x: f"{x:.2f}")
    for col in ("ltv_to_cac", "cac_payback_months"):
        fmt[SEGMENT_HEADERS[col]] = lambda v: _or_dash(v, lambda x: f"{x:,.1f}")
    return fmt


def _or_dash(v: object, show: Callable[[float], str]) -> str:
    number = _num(v)
    return "–" if number != number else show(number)


def _segments(data: ReportData) -> str:
    title = "3. Segments and the value chain"
    if data.segments is None:
        return _section(
            title,
            "<p class='muted'>These scores carry no segment table (a run stores it since "
            "this version; scores written by hand do not): run again, pass --input DIR, or "
            "--scores with a folder `valuesync score` wrote (segment_scores).</p>",
            anchor="segments",
        )
    t = data.segments
    intro = (
        "<p class='muted'>Per segment, over the last 12 months: what acquiring (CAC spread "
        "over the relationship), selling to, delivering to and serving its customers costs, "
        "against the margin they earn. Alignment is the share of the gross margin left after "
        "acquisition, sales and service (1 = they cost nothing, 0 = they eat it all); LTV:CAC "
        "and CAC payback are the segment's sums. Largest revenue first.</p>"
    )
    picture = _figure(figs.segments(t, data.currency), "segments") if len(t) else ""
    shown = t[list(SEGMENT_HEADERS)].rename(columns=SEGMENT_HEADERS)
    return _section(
        title,
        intro,
        picture,
        f"<div id='segment-table'>{table(shown, segment_formats(data.currency))}</div>",
        anchor="segments",
    )


def _movement(data: ReportData) -> str:
    if data.transitions is None or data.movers is None:
        return _section(
            "4. Movement between runs",
            "<p class='muted'>No earlier run to compare "
            "with: pass --compare (a run id or a scores folder).</p>",
            anchor="movement",
        )
    moved = int(data.transitions.to_numpy().sum() - _diagonal(data.transitions))
    movers = data.movers.drop(columns=["distance"]).rename(columns=lambda c: c.replace("_", " "))
    cur = data.currency
    return _section(
        "4. Movement between runs",
        f"<p>{moved:,} accounts changed quadrant, appeared or disappeared.</p>",
        _figure(figs.transitions(data.transitions), "transitions"),
        "<h3>Accounts that moved most</h3>",
        table(movers, {"revenue 12m": lambda v: money(_num(v), cur)})
        if len(movers)
        else "<p class='muted'>No account changed quadrant.</p>",
        anchor="movement",
    )


def _diagonal(t: pd.DataFrame) -> int:
    return int(sum(t.loc[q, q] for q in t.index if q in t.columns))


def _whatif(data: ReportData) -> str:
    if data.whatif is None:
        return _section(
            "5. What-if",
            "<p class='muted'>The what-if needs the input tables: "
            "pass --input DIR (the folder `valuesync score` reads).</p>",
            anchor="whatif",
        )
    t = data.whatif.rename(
        columns={
            "horizon_months": "months",
            "cost_to_serve_multiplier": "cost to serve ×",
            "changed": "accounts changing",
        }
    )
    intro = (
        "<p class='muted'>Accounts whose quadrant changes when lifetime value is taken over "
        "12 / 36 / 60 months, or when every cost-to-serve figure is 10 % lower or higher "
        "(thresholds recomputed, no hysteresis).</p>"
    )
    return _section(
        "5. What-if", intro, _figure(figs.whatif(data.whatif), "whatif"), table(t), anchor="whatif"
    )


def _drivers(data: ReportData) -> str:
    cards = []
    for label, frame in data.drivers.items():
        shown = frame.rename(columns={"share": "% of quadrant"})
        cards.append(f"<div><h3>{_e(label)}</h3>{table(shown, {'% of quadrant': _pct})}</div>")
    body = [f"<div class='grid'>{''.join(cards)}</div>"]
    body.append(_finance(data))
    return _section("6. Drivers", *body, anchor="drivers")


def _finance(data: ReportData) -> str:
    gaps = data.finance
    if gaps is None:
        return "<p class='muted'>Finance matching: not available for this source.</p>"
    parts = []
    if gaps.figures:
        figures = pd.DataFrame(
            {
                "finance join": [k.replace("_", " ") for k in gaps.figures],
                "count": list(gaps.figures.values()),
            }
        )
        parts.append("<h3>Finance join of the run</h3>" + table(figures))
        return "".join(parts)
    for title, frame in (
        ("Finance customers matching no account", gaps.unmatched_finance),
        ("Accounts without finance data", gaps.accounts_without_finance),
    ):
        parts.append(f"<h3>{_e(title)}: {len(frame):,}</h3>")
        if len(frame):
            more = f"<p class='muted'>first 25 of {len(frame):,}</p>" * (len(frame) > 25)
            parts.append(table(frame.head(25)) + more)
    return "".join(parts)


def _health(data: ReportData) -> str:
    h = data.health
    if h.empty:
        return _section(
            "7. Health of the sync",
            "<p class='muted'>No runs recorded in the state database yet.</p>",
            anchor="health",
        )
    body: list[str] = ["<h3>Last runs</h3>", table(h.runs)]
    if h.api_calls_24h is not None and h.daily_limit:
        body.append(_figure(figs.api_usage(h.api_calls_24h, h.daily_limit), "api"))
    elif h.api_calls_24h is not None:
        body.append(
            f"<p>{h.api_calls_24h:,} API calls in the 24 h up to the last run "
            "(daily limit not known: pass --daily-limit).</p>"
        )
    body.append(
        "<h3>Records the latest run set aside (unreadable or unwritable values), by error</h3>"
    )
    body.append(table(h.rejected) if len(h.rejected) else "<p class='muted'>None.</p>")
    return _section("7. Health of the sync", *body, anchor="health")


def external_references(page: str) -> Sequence[str]:
    """Every src/href attribute value that points outside the file (http(s) or //host)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class _Refs(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            for name, value in attrs:
                if (
                    name in ("src", "href")
                    and value
                    and value.strip().lower().startswith(("http:", "https:", "//"))
                ):
                    found.append(value)

    _Refs().feed(page)
    return found
