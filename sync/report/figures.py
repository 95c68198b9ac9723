"""The report's interactive charts, as plotly figures built from `ReportData`.

The matrix: fit score across, value score up, one trace per quadrant (colour), point area
by revenue, the thresholds as dashed lines and the quadrant labels in the corners; the
hover shows name, revenue, margin, lifetime value and the reason. Predicted (new-logo)
records are a second, hollow-diamond layer that the legend toggles. The axes are named
after the model's preset (`ReportData.axes`: persona alignment x customer value for
persona_value). The segments picture stacks each segment's yearly cost of acquisition,
sales and service against the gross margin it earns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sync.report.data import SHARE_OF, ReportData
from value_engine.explain import money

COLOURS = ("#2e7d32", "#ef6c00", "#1565c0", "#9e9e9e")
"""Per quadrant in engine order: high/high green, high/low orange, low/high blue, low/low grey."""
CORNERS = (("right", "top"), ("left", "top"), ("right", "bottom"), ("left", "bottom"))
X_TITLE = "Fit score (0–100): how well the customer fits"
Y_TITLE = "Value score (0–100): what the customer is worth"
MEANING = {
    "value": "what the customer is worth",
    "fit": "how well the customer fits",
    "customer value": "how often and how much it buys, and its lifetime value",
    "persona alignment": "how closely it matches the ideal persona",
    "value-chain alignment": "the share of margin left after winning, selling and serving",
}
"""What each axis of a preset measures (value_engine's ValueModel.axis_names)."""
ACTIVITIES = (
    ("acquisition_cost_per_year", "Acquisition (per year)", "#6a1b9a"),
    ("sales_cost_12m", "Sales", "#1565c0"),
    ("service_cost_12m", "Service", "#ef6c00"),
)
"""The value-chain activities drawn against the margin (delivery is already netted out)."""
MAX_SEGMENTS = 15
FONT = "Inter, Segoe UI, Helvetica, Arial, sans-serif"
MAX_MARKER = 28.0
ACCOUNT_HOVER = (
    "<b>%{customdata[0]}</b><br>revenue 12m %{customdata[1]} · margin %{customdata[2]} · "
    "lifetime value %{customdata[3]}<br>{up} %{y:.1f} · {across} %{x:.1f}<br>"
    "<i>%{customdata[4]}</i>"
)
PREDICTED_HOVER = (
    "<b>%{customdata[0]}</b> (predicted)<br>deal %{customdata[1]} · predicted lifetime value "
    "%{customdata[2]}<br>{up} %{y:.1f} · {across} %{x:.1f}<br><i>%{customdata[3]}</i>"
    "<extra>new logo</extra>"
)


def _layout(fig: go.Figure, height: int, **kwargs: object) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        font={"family": FONT, "size": 13},
        margin={"l": 70, "r": 30, "t": 50, "b": 60},
    )
    fig.update_layout(**kwargs)
    return fig


def axis_title(axis: str) -> str:
    """'Persona alignment (0–100): how closely it matches the ideal persona'."""
    name = "Fit score" if axis == "fit" else "Value score" if axis == "value" else axis
    meaning = MEANING.get(axis)
    text = f"{name[:1].upper()}{name[1:]} (0–100)"
    return f"{text}: {meaning}" if meaning else text


def axis_titles(axes: tuple[str, str]) -> tuple[str, str]:
    """(across, up) titles of the matrix: the second axis across, the value axis up."""
    return axis_title(axes[1]), axis_title(axes[0])


def marker_sizes(revenue: np.ndarray, largest: float) -> np.ndarray:
    """Marker diameters in px: area proportional to revenue, 4 px minimum."""
    if largest <= 0:
        return np.full(len(revenue), 4.0)
    return np.asarray(4.0 + (MAX_MARKER - 4.0) * np.sqrt(np.clip(revenue, 0.0, None) / largest))


def matrix(data: ReportData) -> go.Figure:
    """The value matrix as an interactive scatter plot."""
    fig = go.Figure()
    pts = data.points
    largest = float(pts["revenue_12m"].max()) if len(pts) else 0.0
    cur = data.currency
    for label, colour in zip(data.labels, COLOURS, strict=True):
        sel = pts[pts["quadrant"] == label]
        custom = (
            np.column_stack(
                [
                    sel["name"],
                    [money(v, cur) for v in sel["revenue_12m"]],
                    [money(v, cur) for v in sel["margin_12m"]],
                    [money(v, cur) for v in sel["clv"]],
                    sel["reason"],
                ]
            )
            if len(sel)
            else None
        )
        fig.add_trace(
            go.Scatter(
                x=sel["fit_score"],
                y=sel["value_score"],
                mode="markers",
                name=label,
                customdata=custom,
                marker={
                    "color": colour,
                    "size": marker_sizes(sel["revenue_12m"].to_numpy(), largest),
                    "opacity": 0.7,
                    "line": {"width": 0.6, "color": "white"},
                },
                hovertemplate=_hover(ACCOUNT_HOVER, data) + f"<extra>{label}</extra>",
            )
        )
    _predicted_layer(fig, data)
    _thresholds(fig, data)
    across, up = axis_titles(data.axes)
    return _layout(
        fig,
        720,
        xaxis={"title": {"text": across}, "range": [-2, 102], "zeroline": False},
        yaxis={"title": {"text": up}, "range": [-2, 102], "zeroline": False},
        legend={"title": {"text": "Quadrant (size = revenue)"}, "orientation": "h", "y": -0.12},
        hoverlabel={"align": "left"},
    )


def _hover(template: str, data: ReportData) -> str:
    return template.replace("{up}", data.axes[0]).replace("{across}", data.axes[1])


def _predicted_layer(fig: go.Figure, data: ReportData) -> None:
    pred = data.predicted
    if pred.empty:
        return
    cur = data.currency
    custom = np.column_stack(
        [
            pred["name"],
            [money(v, cur) for v in pred["amount"].fillna(0.0)],
            [money(v, cur) for v in pred["clv"].fillna(0.0)],
            pred["reason"],
        ]
    )
    fig.add_trace(
        go.Scatter(
            x=pred["fit_score"],
            y=pred["value_score"],
            mode="markers",
            customdata=custom,
            name=f"Predicted new-logo ({len(pred):,})",
            marker={
                "symbol": "diamond-open",
                "size": 9,
                "color": "#6a1b9a",
                "line": {"width": 1.5},
            },
            hovertemplate=_hover(PREDICTED_HOVER, data),
        )
    )


def _thresholds(fig: go.Figure, data: ReportData) -> None:
    value_cut, fit_cut = data.cuts
    line = {"dash": "dash", "color": "#455a64", "width": 1.5}
    fig.add_hline(
        y=value_cut,
        line=line,
        annotation_text=f"{data.axes[0]} threshold {value_cut:.1f}",
        annotation_position="bottom left",
        annotation_font_color="#455a64",
    )
    fig.add_vline(
        x=fit_cut,
        line=line,
        annotation_text=f"{data.axes[1]} threshold {fit_cut:.1f}",
        annotation_position="top left",
        annotation_textangle=-90,
        annotation_font_color="#455a64",
    )
    for label, colour, (xs, ys) in zip(data.labels, COLOURS, CORNERS, strict=True):
        fig.add_annotation(
            text=f"<b>{label}</b>",
            xref="paper",
            yref="paper",
            showarrow=False,
            x=0.99 if xs == "right" else 0.01,
            y=0.99 if ys == "top" else 0.01,
            xanchor=xs,
            yanchor=ys,
            font={"size": 17, "color": colour},
            bgcolor="rgba(255,255,255,0.85)",
            borderpad=4,
        )


def shares(data: ReportData) -> go.Figure:
    """Grouped bars: per quadrant, its share of accounts, revenue, margin and lifetime value."""
    fig = go.Figure()
    table = data.shares
    tones = ("#b0bec5", "#546e7a", "#00897b", "#6a1b9a")
    for (col, title), tone in zip(SHARE_OF.items(), tones, strict=True):
        values = table[f"{col}_share"] * 100
        fig.add_trace(
            go.Bar(
                y=table["quadrant"],
                x=values,
                name=title,
                orientation="h",
                marker_color=tone,
                text=[f"{v:.0f} %" for v in values],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}: %{x:.1f} % of " + title.lower() + "<extra></extra>",
            )
        )
    return _layout(
        fig,
        460,
        barmode="group",
        xaxis={"title": {"text": "Share of the total (%)"}, "ticksuffix": " %"},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.2},
        bargap=0.25,
        title={"text": "Revenue is not value: each quadrant's share of the total"},
    )


def segments(table: pd.DataFrame, currency: str) -> go.Figure:
    """Per segment (the largest by revenue): the yearly cost of acquisition, sales and
    service stacked, against the gross margin (revenue - delivery) the segment earns.

    Where the stack reaches past the margin marker, winning, selling and serving the
    segment costs more than it earns."""
    shown = table.head(MAX_SEGMENTS)
    names = list(shown["segment"])
    fig = go.Figure()
    for column, title, colour in ACTIVITIES:
        values = shown[column].fillna(0.0)
        fig.add_trace(
            go.Bar(
                y=names,
                x=values,
                name=title,
                orientation="h",
                marker_color=colour,
                customdata=[money(v, currency) for v in values],
                hovertemplate="%{y}: " + title.lower() + " %{customdata}<extra></extra>",
            )
        )
    margin = shown["gross_margin_12m"].fillna(0.0)
    fig.add_trace(
        go.Scatter(
            y=names,
            x=margin,
            mode="markers",
            name="Gross margin (12m)",
            marker={"symbol": "line-ns", "size": 22, "line": {"width": 3, "color": "#2e7d32"}},
            customdata=[money(v, currency) for v in margin],
            hovertemplate="%{y}: gross margin %{customdata}<extra></extra>",
        )
    )
    return _layout(
        fig,
        max(320, 60 + 34 * len(names)),
        barmode="stack",
        xaxis={"title": {"text": f"Per year ({currency})"}, "zeroline": True},
        yaxis={"autorange": "reversed", "automargin": True},
        legend={"orientation": "h", "y": -0.15, "traceorder": "normal"},
        title={"text": "What winning, selling and serving each segment costs, against its margin"},
    )


def transitions(table: pd.DataFrame) -> go.Figure:
    """The transition matrix as an annotated heatmap (earlier run down, this run across)."""
    z = table.to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(table.columns),
            y=list(table.index),
            colorscale="Blues",
            showscale=False,
            text=z,
            texttemplate="%{text:,}",
            hovertemplate="%{y} → %{x}: %{z:,}<extra></extra>",
        )
    )
    return _layout(
        fig,
        420,
        xaxis={"title": {"text": "This run"}, "side": "top"},
        yaxis={"title": {"text": "Earlier run"}, "autorange": "reversed"},
    )


def whatif(table: pd.DataFrame) -> go.Figure:
    """Bars: accounts that change quadrant in each scenario."""
    rows = table[table["scenario"] != "base"]
    names = [_scenario_name(s) for s in rows["scenario"]]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=rows["changed"],
            marker_color="#546e7a",
            text=rows["changed"],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y:,} accounts change quadrant<extra></extra>",
        )
    )
    return _layout(fig, 360, yaxis={"title": {"text": "Accounts changing quadrant"}})


def _scenario_name(name: str) -> str:
    if name.startswith("horizon_"):
        return f"{name.removeprefix('horizon_').removesuffix('m')} months"
    if name.startswith("cost_to_serve_"):
        return f"cost to serve {name.removeprefix('cost_to_serve_')}"
    return name


def api_usage(used: int, limit: int) -> go.Figure:
    """One bar: API calls used in the last 24 h against the daily limit."""
    fig = go.Figure(
        go.Bar(
            x=[used],
            y=["API calls, 24 h"],
            orientation="h",
            marker_color="#00897b",
            text=[f"{used:,} of {limit:,} ({used / limit:.1%})"],
            textposition="outside",
        )
    )
    return _layout(fig, 170, xaxis={"range": [0, limit]}, margin={"l": 120, "t": 20, "b": 40})
