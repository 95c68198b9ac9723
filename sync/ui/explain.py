"""Explain an account: search by name, domain or id; then its features, each criterion's
points and weight, the thresholds, the quadrant, the rule that set each rule field and
the reason exactly as the last run wrote it to the CRM, with a link to the CRM record.

Stored values (quadrant, scores, rule fields, reason) come from the run's stored engine
rows; per-criterion points from `score_accounts` on the run's stored features with the
model file as it is now (value_engine.breakdown reads them out).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pandas as pd
from starlette.requests import Request
from starlette.responses import Response

from connectors.links import record_url
from sync.ui.context import Loading
from sync.ui.templating import PAGE_SIZE, page_of, render, window
from value_engine.breakdown import criteria_lines, fired_rules

SHOWN = (
    "quadrant",
    "computed_quadrant",
    "value_score",
    "fit_score",
    "clv",
    "revenue_12m",
    "margin_12m",
    "max_acquisition_cost",
    "predicted",
)


async def search(request: Request) -> Response:
    """GET /explain/{name}?q=...: accounts whose name, domain or id contains the text."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    snap = console.page_snapshot(name)
    if isinstance(snap, Loading):
        return render(request, "loading.html", name=name, run_id=snap.run_id)
    q = request.query_params.get("q", "").strip()
    hits, win = [], None
    if snap is not None and q:
        found = snap.names[snap.names["key"].str.contains(q.lower(), regex=False)]
        win = window(len(found), page_of(request), PAGE_SIZE)
        part = found.iloc[win["start"] : win["stop"]]
        rows = snap.accounts.iloc[
            snap.positions.reindex(part["account_id"])
            .fillna(-1)
            .astype(int)
            .clip(lower=0)
            .to_numpy()
        ]
        hits = [
            {"account_id": a, "name": n, "domain": d, "quadrant": qd}
            for a, n, d, qd in zip(
                part["account_id"],
                part["name"],
                part["domain"],
                rows["quadrant"].astype(str),
                strict=True,
            )
        ]
    return render(
        request,
        "explain_search.html",
        name=name,
        snap=snap,
        q=q,
        hits=hits,
        win=win,
        extra="&" + urlencode({"q": q}),
    )


async def account(request: Request) -> Response:
    """GET /explain/{name}/{account_id}: one account taken apart."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    account_id = request.path_params["account_id"]
    snap = console.page_snapshot(name)
    if isinstance(snap, Loading):
        return render(request, "loading.html", name=name, run_id=snap.run_id)
    if snap is None or account_id not in snap.positions.index:
        return render(
            request,
            "explain_account.html",
            status=404,
            name=name,
            found=None,
            account_id=account_id,
        )
    setup = console.setup(name)
    row = snap.accounts.iloc[[int(snap.positions[account_id])]].reset_index(drop=True)
    return render(
        request,
        "explain_account.html",
        name=name,
        found=True,
        account_id=account_id,
        **details(snap, row, account_id),
        link=record_link(console, name, account_id),
        currency=setup.model.currency,
    )


def details(snap: Any, row: pd.DataFrame, account_id: str) -> dict[str, Any]:
    """What the account page shows, from the snapshot."""
    stored = {k: _plain(row[k].iloc[0]) for k in SHOWN if k in row.columns}
    names = snap.names[snap.names["account_id"] == account_id]
    lines = []
    if snap.scored is not None and account_id in snap.feature_positions.index:
        lines = criteria_lines(snap.scored, int(snap.feature_positions[account_id]))
    cuts = snap.scored.cuts if snap.scored is not None else None
    q = snap.model.quadrants
    return {
        "display": names["name"].iloc[0] if len(names) else account_id,
        "domain": names["domain"].iloc[0] if len(names) else "",
        "stored": stored,
        "reason": str(row["reason"].iloc[0]) if "reason" in row else "",
        "lines": lines,
        "value_weight": sum(c.weight for c in snap.model.value.criteria),
        "fit_weight": sum(c.weight for c in snap.model.fit.criteria),
        "cuts": cuts,
        "method": q.method,
        "thresholds": (q.value_threshold, q.fit_threshold),
        "rules": fired_rules(row, snap.model),
        "run_id": snap.run_id,
    }


def record_link(console: Any, name: str, account_id: str) -> str | None:
    """The account's page in the CRM (None when the connector cannot tell)."""
    setup = console.setup(name)
    settings = getattr(setup.connection, setup.crm, None)
    return record_url(setup.crm, settings, setup.mapping.objects["accounts"].object, account_id)


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    return v
