"""The value matrix as a PNG for slides, drawn server-side with matplotlib (Agg, no pyplot).

Left: the matrix (fit across, value up, colour by quadrant, area by revenue, dashed
thresholds, labels in the corners). Right: each quadrant's share of accounts, revenue,
margin and lifetime value, the "revenue is not value" view. 1920 x 1080 px (16:9).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sync.report.data import SHARE_OF, ReportData
from sync.report.figures import COLOURS, CORNERS, axis_titles

SIZE_IN = (16, 9)
DPI = 120
TONES = ("#b0bec5", "#546e7a", "#00897b", "#6a1b9a")


def draw(data: ReportData, path: Path) -> Path:
    """Write the PNG to `path`; returns it."""
    fig = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, 2, width_ratios=(1.35, 1))
    _matrix(fig.add_subplot(grid[0]), data)
    _shares(fig.add_subplot(grid[1]), data)
    title = data.title + (f"\n{data.headlines[0]}" if data.headlines else "")
    fig.suptitle(title, fontsize=18, fontweight="bold", x=0.01, ha="left", color="#263238")
    foot = [f"{data.total_accounts:,} accounts", *data.notes]
    if data.sampled:
        foot.append(f"points: {len(data.points):,} shown (sampled)")
    fig.text(0.995, 0.995, " · ".join(foot), fontsize=9, color="#78909c", ha="right", va="top")
    fig.savefig(path, dpi=DPI, facecolor="white")
    return path


def _matrix(ax: object, data: ReportData) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    pts = data.points
    largest = float(pts["revenue_12m"].max()) if len(pts) else 0.0
    for label, colour in zip(data.labels, COLOURS, strict=True):
        sel = pts[pts["quadrant"] == label]
        rev = np.clip(sel["revenue_12m"].to_numpy(), 0.0, None)
        area = 8 + 400 * (rev / largest) if largest > 0 else np.full(len(sel), 8.0)
        ax.scatter(
            sel["fit_score"],
            sel["value_score"],
            s=area,
            c=colour,
            alpha=0.6,
            edgecolors="white",
            linewidths=0.4,
            label=f"{label} ({len(sel):,})",
            rasterized=len(pts) > 2000,
        )
    if len(data.predicted):
        p = data.predicted
        ax.scatter(
            p["fit_score"],
            p["value_score"],
            marker="D",
            s=36,
            facecolors="none",
            edgecolors="#6a1b9a",
            linewidths=1.2,
            label=f"Predicted new-logo ({len(p):,})",
        )
    value_cut, fit_cut = data.cuts
    ax.axhline(value_cut, color="#455a64", linestyle="--", linewidth=1.3)
    ax.axvline(fit_cut, color="#455a64", linestyle="--", linewidth=1.3)
    up_axis, across_axis = data.axes
    ax.text(1, value_cut + 0.8, f"{up_axis} threshold {value_cut:.1f}", color="#455a64", fontsize=9)
    ax.text(
        fit_cut + 0.8,
        1,
        f"{across_axis} threshold {fit_cut:.1f}",
        color="#455a64",
        fontsize=9,
        rotation=90,
        va="bottom",
    )
    for label, colour, (xs, ys) in zip(data.labels, COLOURS, CORNERS, strict=True):
        ax.text(
            0.985 if xs == "right" else 0.015,
            0.985 if ys == "top" else 0.015,
            label,
            transform=ax.transAxes,
            ha=xs,
            va=ys,
            fontsize=15,
            fontweight="bold",
            color=colour,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
    ax.set(xlim=(-2, 102), ylim=(-2, 102))
    across, up = axis_titles(data.axes)
    ax.set_xlabel(across, fontsize=12)
    ax.set_ylabel(up, fontsize=12)
    ax.grid(color="#eceff1", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    legend = ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.09),
        ncol=5,
        frameon=False,
        fontsize=10,
        title="Quadrant (point size = revenue, 12 months)",
        title_fontsize=10,
    )
    for handle in legend.legend_handles:
        handle.set_sizes([70])  # type: ignore[union-attr]


def _shares(ax: object, data: ReportData) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    t = data.shares
    n = len(t)
    height = 0.8 / len(SHARE_OF)
    y = np.arange(n)
    for k, ((col, title), tone) in enumerate(zip(SHARE_OF.items(), TONES, strict=True)):
        values = t[f"{col}_share"].to_numpy() * 100
        pos = y - 0.4 + height * (k + 0.5)
        bars = ax.barh(pos, values, height=height * 0.92, color=tone, label=title)
        ax.bar_label(bars, labels=[f"{v:.0f} %" for v in values], padding=3, fontsize=9)
    ax.set_yticks(y, [str(q) for q in t["quadrant"]], fontsize=12)
    for tick, colour in zip(ax.get_yticklabels(), COLOURS, strict=False):
        tick.set_color(colour)
        tick.set_fontweight("bold")
    ax.invert_yaxis()
    ax.axvline(0, color="#90a4ae", linewidth=0.8)
    lo = min(0.0, float(np.nanmin(t[[f"{c}_share" for c in SHARE_OF]].to_numpy() * 100)))
    hi = float(np.nanmax(t[[f"{c}_share" for c in SHARE_OF]].to_numpy() * 100))
    ax.set_xlim(lo * 1.4 - 4 if lo < 0 else 0, max(hi * 1.18, 10))
    ax.set_xlabel("Share of the total (%)", fontsize=12)
    ax.set_title("Revenue is not value: share of the total per quadrant", fontsize=13, loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color="#eceff1", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, frameon=False, fontsize=10)
