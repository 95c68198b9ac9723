"""`valuesync demo`: the sandbox CRM, seeded and checked with the real client libraries.

Until the sync pipeline exists this is what the demo can honestly show: the sample
population in both CRM protocols, the A/B customer pair, the finance export and its
join work, and one call through each real client. It says so at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import typer
from rich.table import Table

from connectors.sandbox.sampledata import SampleData
from sync.commands.sandbox import DEFAULT_DATA_DIR, check_choice, console, holdings_table


def demo(
    crm: str = typer.Option(
        "salesforce", help="The CRM the pipeline will sync: salesforce or hubspot."
    ),
    accounts: int = typer.Option(500, min=2, help="Sample accounts to seed."),
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same data."),
) -> None:
    """Seed the sandbox CRM, prove the real clients talk to it, and show the A/B customer pair."""
    check_choice("--crm", crm, ("salesforce", "hubspot"))
    from connectors.sandbox.load import build_sandbox
    from connectors.sandbox.sampledata import write_files
    from connectors.sandbox.server import SandboxServer

    with console.status(f"seeding {accounts:,} accounts (seed {seed})"):
        sf_store, hs_store, data = build_sandbox(accounts, seed, "both")
    with SandboxServer(sf_store=sf_store, hs_store=hs_store) as server:
        console.print(f"sandbox CRM started on {server.url}")
        console.print(holdings_table(sf_store, hs_store, len(data.finance)))
        console.print(finance_table(data))
        console.print(pair_table(data))
        checks = client_checks(server.url, len(data.accounts))
        console.print(checks_table(checks))
    paths = write_files(data, DEFAULT_DATA_DIR)
    console.print(f"sample files written: {', '.join(str(p) for p in paths)}")
    console.print("sandbox stopped")
    console.print(
        f"\n[bold yellow]Not there yet:[/] the sync pipeline (pull from {crm}, join finance, "
        "score, write Value Quadrant / Fit Score back) lands in a later issue. This demo only "
        "shows the sandbox CRM and its sample data."
    )
    if not all(ok for _, ok, _ in checks):
        raise typer.Exit(1)


def finance_table(data: SampleData) -> Table:
    """The finance export and the work its join has to do."""
    t = Table(title="Finance export (finance.csv)")
    t.add_column("what")
    t.add_column("count", justify="right")
    truth = data.truth
    t.add_row("rows (customer x month)", f"{len(data.finance):,}")
    t.add_row("ERP customers", f"{data.finance['erp_customer_id'].nunique():,}")
    t.add_row("ERP customers matching no CRM account", f"{len(truth.unmatched_erp_ids):,}")
    t.add_row("CRM accounts without finance rows", f"{len(truth.accounts_without_finance):,}")
    t.add_row("accounts matching only by domain", f"{len(truth.match_by_domain):,}")
    t.add_row("accounts matching only by normalised name", f"{len(truth.match_by_name):,}")
    return t


def pair_summary(data: SampleData) -> list[dict[str, Any]]:
    """Trailing-12-month figures of customers A and B, from the sample tables."""
    periods = {str(pd.Period(data.as_of, freq="M") - k) for k in range(12)}
    out = []
    for key in (data.truth.customer_a, data.truth.customer_b):
        acc = data.accounts.set_index("account_id").loc[key]
        fin = data.finance[
            (data.finance["erp_customer_id"] == data.truth.erp_of[key])
            & data.finance["period"].isin(periods)
        ]
        tickets = data.tickets[data.tickets["account_id"] == key]
        inv = data.invoices[
            (data.invoices["account_id"] == key) & data.invoices["paid_date"].notna()
        ]
        out.append(
            {
                "name": acc["name"],
                "fit": f"{acc['industry']}, {acc['employees']} staff, {acc['region']}",
                "revenue": fin["revenue"].sum(),
                "margin": (fin["revenue"] - fin["cost_of_delivery"]).sum(),
                "tickets": len(tickets),
                "special": int((tickets["category"] == "special_request").sum()),
                "escalations": int(tickets["is_escalation"].sum()),
                "effort": tickets["effort_hours"].sum(),
                "late": int((inv["paid_date"] > inv["due_date"]).sum()),
                "paid": len(inv),
            }
        )
    return out


def pair_table(data: SampleData) -> Table:
    """Customers A and B side by side: same revenue, very different value."""
    a, b = pair_summary(data)
    t = Table(title="Same revenue, different value (trailing 12 months)")
    t.add_column("")
    t.add_column(f"A: {a['name']}", justify="right")
    t.add_column(f"B: {b['name']}", justify="right")
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("firmographics", lambda p: p["fit"]),
        ("revenue", lambda p: f"€{p['revenue']:,.0f}"),
        ("contribution margin", lambda p: f"€{p['margin']:,.0f}"),
        ("tickets", lambda p: str(p["tickets"])),
        ("special requests", lambda p: str(p["special"])),
        ("escalations", lambda p: str(p["escalations"])),
        ("service effort (h)", lambda p: f"{p['effort']:.0f}"),
        ("invoices paid late", lambda p: f"{p['late']} of {p['paid']}"),
    ]
    for label, fmt in rows:
        t.add_row(label, fmt(a), fmt(b))
    return t


def client_checks(url: str, accounts: int) -> list[tuple[str, bool, str]]:
    """One call through each real client library: (what, passed, detail)."""
    return [
        _check("simple-salesforce: SOAP login + SELECT COUNT() FROM Account", accounts,
               lambda: _sf_count(url)),
        _check("hubspot-api-client: companies basic_api.get_page(limit=100)", min(100, accounts),
               lambda: _hs_page(url)),
    ]  # fmt: skip


def _check(what: str, expected: int, call: Callable[[], int]) -> tuple[str, bool, str]:
    try:
        got = call()
    except Exception as exc:  # any failure of the client or route is reported, not hidden
        return what, False, f"failed: {type(exc).__name__}: {str(exc)[:120]}"
    return what, got == expected, f"{got:,} records (expected {expected:,})"


def _sf_count(url: str) -> int:
    from connectors.sandbox.clients import salesforce_client

    return int(salesforce_client(url).query("SELECT COUNT() FROM Account")["totalSize"])


def _hs_page(url: str) -> int:
    from connectors.sandbox.clients import hubspot_client

    page = hubspot_client(url).crm.companies.basic_api.get_page(limit=100)
    return len(page.results)


def checks_table(checks: list[tuple[str, bool, str]]) -> Table:
    t = Table(title="The real clients against the sandbox")
    t.add_column("check")
    t.add_column("result")
    for what, ok, detail in checks:
        t.add_row(what, f"[green]ok[/] {detail}" if ok else f"[red]FAILED[/] {detail}")
    return t


__all__ = ["demo"]
