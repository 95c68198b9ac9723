"""`valuesync demo`: the whole job end to end against the embedded sandbox CRM.

Seeds a sandbox Salesforce org (or HubSpot portal) on a free loopback port, writes a
project under `.valuesync/demo/<crm>/` (valuesync.yaml naming its secrets by environment
variable, the finance export and its mapping, the value model), provisions the output
fields, runs a full sync with progress bars, prints the value matrix, reads a few
opportunities and the A/B customer pair back from the CRM, runs again to show that
nothing changes, writes the HTML/PNG report, and says how to point it at a real org.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from sync.cli.consoles import stderr, stdout

if TYPE_CHECKING:
    import pandas as pd

    from connectors.sandbox.site import DemoSite

import typer

from mappings.errors import DemoError

DEMO_DIR = Path(".valuesync/demo")
CRMS = ("salesforce", "hubspot", "both")
PAIR = ("Alpha Precision GmbH", "Beta Bulk Trading Ltd")
EXAMPLES = 5
DEAL_FIELDS = {"salesforce": ("Name", "Amount"), "hubspot": ("dealname", "amount")}
"""The CRM fields holding an opportunity's name and amount (read back with the outputs)."""

CrmOpt = Annotated[
    str, typer.Option("--crm", help="The sandbox CRM to sync: salesforce, hubspot or both.")
]
AccountsOpt = Annotated[int, typer.Option("--accounts", min=2, help="Sample accounts to seed.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed: the same seed, the same data.")]
KeepOpt = Annotated[
    bool,
    typer.Option(
        "--keep",
        help="Keep the sandbox CRM running afterwards (until Ctrl-C), so you can try "
        "`valuesync plan/run/report --project .valuesync/demo/<crm>/valuesync.yaml` on it.",
    ),
]


def demo(
    crm: CrmOpt = "salesforce",
    accounts: AccountsOpt = 500,
    seed: SeedOpt = 7,
    keep: KeepOpt = False,
) -> None:
    """Run the whole job on a local sandbox CRM: provision, sync, matrix, rerun, report."""
    from sync.cli.sandbox import check_choice, require_sandbox_extra

    check_choice("--crm", crm, CRMS)
    require_sandbox_extra()
    crms = ("salesforce", "hubspot") if crm == "both" else (crm,)
    kept: list[DemoSite] = []
    try:
        for name in crms:
            site = run_demo(name, accounts, seed, DEMO_DIR / name)
            (kept if keep else []).append(site)
            if not keep:
                site.stop()
        next_steps(crms[0])
        if kept:
            serve_until_interrupted(kept)
    finally:
        for site in kept:
            site.stop()


def run_demo(crm: str, accounts: int, seed: int, folder: Path) -> DemoSite:
    """One CRM from seeding to the report; the running site is returned (caller stops it)."""
    from sync.cli.demo_view import second_pass_line
    from sync.cli.render import RichProgress
    from sync.pipeline import runner as pipeline

    started = time.monotonic()
    stdout().rule(f"[bold]valuesync demo: {crm}[/]")
    with stdout().status(f"seeding the sandbox {crm} with {accounts:,} accounts (seed {seed})"):
        site = _start(crm, accounts, seed, folder)
    try:
        # The sandbox's credentials are public sandbox values; the project file names the
        # variables, and this process sets them, as an ops admin would in a real shell.
        os.environ.update(site.env)
        data = site.data
        stdout().print(
            f"sandbox {crm} on {site.server.url}: {len(data.accounts):,} accounts, "
            f"{len(data.opportunities):,} opportunities, {len(data.tickets):,} tickets, "
            f"{len(data.invoices):,} invoices; finance export {len(data.finance):,} rows "
            f"(up to {data.as_of:%Y-%m})"
        )
        stdout().print(f"project written: {site.project_file}")
        project = site.project()
        provisioned = pipeline.provision_fields(project, env=site.env)
        created = sum(len(r.created) for r in provisioned.values())
        stdout().print(
            f"fields provisioned: {created} created on "
            f"{', '.join(provisioned)} (Value Quadrant, Fit Score, Deal Priority, ...)"
        )
        with RichProgress(console=stderr()) as progress:
            first = pipeline.run(project, progress=progress, env=site.env)
        _summary(first)
        _matrix(site, first)
        _examples(site, first)
        _pair(site, first)
        with stdout().status("second pass: the same sync again"):
            second = pipeline.run(project, env=site.env)
        changed = sum(c.records_changed for c in second.objects.values())
        stdout().print(second_pass_line(second.written, changed, second.write_calls))
        _report(site)
        stdout().print(f"[bold]{crm} demo done in {time.monotonic() - started:.1f} s[/]")
    except BaseException:
        site.stop()
        raise
    return site


def _start(crm: str, accounts: int, seed: int, folder: Path) -> DemoSite:
    from connectors.sandbox.site import start_site

    try:
        return start_site(crm, accounts, seed, folder)
    except OSError as exc:
        raise DemoError(
            f"the demo could not start the sandbox CRM or write {folder} ({exc.strerror or exc}); "
            "check that the current folder is writable and that 127.0.0.1 accepts local "
            "connections, then run `valuesync demo` again"
        ) from exc


def _summary(report: Any) -> None:
    pulled = sum(c.pulled for c in report.objects.values())
    changed = sum(c.records_changed for c in report.objects.values())
    seconds = sum(report.phase_seconds.values())
    stdout().print(
        f"[bold green]first pass (run {report.run_id}, as of {report.as_of}):[/] "
        f"{pulled:,} records pulled, {changed:,} records changed, "
        f"[bold]{report.written:,} records written[/] in {report.write_calls:,} write calls "
        f"({seconds:.1f} s)"
    )
    line = finance_line(report.finance)
    if line:
        stdout().print(line)
    for message in report.messages:
        stdout().print(f"[yellow]note:[/] {message}", highlight=False)


def finance_line(figures: dict[str, Any]) -> str:
    """The finance join in one sentence (what matched how, what did not)."""
    by = figures.get("matched_by") or {}
    if not by:
        return ""
    methods = (("erp_id", "ERP id"), ("account_id", "CRM id"), ("domain", "domain"),
               ("name", "normalised name"))  # fmt: skip
    parts = [f"{int(by[k]):,} by {label}" for k, label in methods if by.get(k)]
    return (
        f"finance join: {', '.join(parts) or 'none matched'}; "
        f"{int(figures.get('accounts_without_finance') or 0):,} accounts without finance rows, "
        f"{int(figures.get('unmatched_customers') or 0):,} ERP customers matching no account"
    )


def _matrix(site: DemoSite, report: Any) -> None:
    from sync.cli.demo_view import distribution_table, matrix_grid
    from sync.pipeline.setup import load_setup

    labels = load_setup(site.project(), None).model.quadrants.label_tuple()
    dist = report.distribution
    if dist is None or dist.empty:
        raise DemoError("the run reported no quadrant distribution; nothing was scored")
    stdout().print(matrix_grid(dist, labels))
    stdout().print(distribution_table(dist))


def _scores(site: DemoSite, run_id: int, kind: str) -> pd.DataFrame:
    from sync.pipeline import runner as pipeline

    state = pipeline.open_state(site.project(), site.env)
    try:
        return state.scores(run_id, kind)
    finally:
        state.close()


def pick_examples(opps: pd.DataFrame, labels: tuple[str, ...], n: int) -> list[str]:
    """Open opportunities, one per quadrant first, then the largest others: ids."""
    frame = opps
    if "is_closed" in frame.columns:
        frame = frame[~frame["is_closed"].astype("boolean").fillna(False).astype(bool)]
    if "amount" in frame.columns:
        frame = frame.sort_values("amount", ascending=False, kind="stable")
    picked: list[str] = []
    for label in labels:
        hit = frame[frame["quadrant"].astype(str) == label]
        if len(hit):
            picked.append(str(hit["opportunity_id"].iloc[0]))
    for rid in frame["opportunity_id"].astype(str):
        if len(picked) >= n:
            break
        if rid not in picked:
            picked.append(rid)
    return picked[:n]


def _examples(site: DemoSite, report: Any) -> None:
    import pandas as pd

    from connectors.sandbox.site import read_back
    from sync.cli.demo_view import examples_table
    from sync.pipeline.setup import load_setup

    setup = load_setup(site.project(), None)
    outputs = setup.outputs("opportunities")  # engine column -> CRM field
    opps = _scores(site, report.run_id, "opportunities")
    ids = pick_examples(opps, setup.model.quadrants.label_tuple(), EXAMPLES)
    name_field, amount_field = DEAL_FIELDS[site.crm]
    fields = [name_field, amount_field, *outputs.values()]
    crm = read_back(site, "opportunities", ids, fields)
    rows = pd.DataFrame({"name": crm[name_field], "amount": crm[amount_field]})
    for column in ("quadrant", "deal_priority", "max_acquisition_cost", "reason"):
        field = outputs.get(column)
        rows[column] = crm[field] if field is not None and field in crm.columns else None
    stdout().print(examples_table(rows, site.crm))


def _pair(site: DemoSite, report: Any) -> None:
    from connectors.sandbox.site import account_ids_by_name, read_back
    from sync.cli.demo_view import pair_table
    from sync.pipeline.setup import load_setup

    outputs = load_setup(site.project(), None).outputs("accounts")
    ids = account_ids_by_name(site, list(PAIR))
    if len(ids) < 2:
        stdout().print("[yellow]the A/B pair was not found in the CRM (renamed?)[/]")
        return
    accounts = _scores(site, report.run_id, "accounts")
    accounts = accounts.set_index(accounts["account_id"].astype(str))
    fields = [f for c, f in outputs.items() if c in ("quadrant", "account_action", "reason")]
    crm = read_back(site, "accounts", [ids[n] for n in PAIR], fields).set_index("id")
    sides = []
    for name in PAIR:
        rid = ids[name]
        row = accounts.loc[rid].to_dict() if rid in accounts.index else {}
        side: dict[str, Any] = {"name": name, **row}
        for column, key in (("quadrant", "crm_quadrant"), ("account_action", "crm_action"),
                            ("reason", "crm_reason")):  # fmt: skip
            field = outputs.get(column)
            side[key] = crm.loc[rid, field] if field in crm.columns else None
        sides.append(side)
    stdout().print(pair_table(*sides))


def _report(site: DemoSite) -> None:
    try:
        from sync.cli.report import report
    except ImportError:  # the report lands with its own issue
        return
    out = site.folder / "report.html"
    report(out=out, project=site.project_file)
    stdout().print("open the .html in a browser; the .png is the matrix for slides")


def next_steps(crm: str) -> None:
    """How to point valuesync at a real org."""
    from rich.panel import Panel

    env = (
        "SALESFORCE_USERNAME, SALESFORCE_PASSWORD, SALESFORCE_SECURITY_TOKEN,\n"
        "     SALESFORCE_CONSUMER_KEY, SALESFORCE_CONSUMER_SECRET (a connected app)"
        if crm == "salesforce"
        else "HUBSPOT_ACCESS_TOKEN (a private app with CRM read/write scopes)"
    )
    text = (
        f"1. valuesync init acme --crm {crm}        # valuesync.yaml + mappings/ to edit\n"
        f"2. export {env}\n"
        "3. put your ERP export where acme/mappings/finance.yaml says (finance.csv)\n"
        "4. valuesync check -p acme/valuesync.yaml             # files + live describe\n"
        "5. valuesync fields provision -p acme/valuesync.yaml  # create the output fields\n"
        "6. valuesync plan -p acme/valuesync.yaml              # dry run: what would change\n"
        "7. valuesync run -p acme/valuesync.yaml               # write it back\n"
        "   valuesync report -p acme/valuesync.yaml            # the matrix for leadership"
    )
    stdout().print(Panel(text, title="Point it at your own CRM", expand=False))


def serve_until_interrupted(sites: list[DemoSite]) -> None:
    """Keep the sandboxes up until Ctrl-C / SIGTERM (--keep)."""
    from connectors.sandbox.site import CONNECTION

    stdout().print("In another shell, set the sandbox's (public) credentials:")
    for name, value in sites[0].env.items():
        stdout().print(f"  export {name}={value}", highlight=False)
    for site in sites:
        stdout().print(
            f"sandbox {site.crm} stays up on {site.server.url}; try "
            f"`valuesync plan --project {site.project_file} -c {CONNECTION}`. Ctrl-C stops it."
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


__all__ = ["demo", "pick_examples"]
