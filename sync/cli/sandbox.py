"""`valuesync sandbox serve`: a seeded local Salesforce + HubSpot for trying valuesync out.

Seeds the sample population (connectors/sandbox/sampledata.py) into the sandbox CRM,
writes the sample files (finance.csv is the finance export), prints how to point the
real clients at it, and serves on 127.0.0.1 until Ctrl-C.
"""

from __future__ import annotations

import re
import signal
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from connectors.sandbox import PROFILE_NAMES
from sync.cli.consoles import stdout

if TYPE_CHECKING:
    from rich.table import Table

    from connectors.sandbox.store import Store


from mappings.errors import ConfigError, ConfigProblem

CRMS = ("salesforce", "hubspot", "both")
DEFAULT_DATA_DIR = Path(".valuesync/sandbox-data")


def check_choice(option: str, value: str, allowed: tuple[str, ...]) -> None:
    """A ConfigError naming the option and its allowed values when `value` is not one of them."""
    if value not in allowed:
        problem = ConfigProblem(
            file="command line",
            key_path=option,
            message=f"unknown value {value!r}; allowed: {', '.join(allowed)}",
        )
        raise ConfigError([problem])


SANDBOX_EXTRA = ("starlette", "uvicorn", "trustme")
"""What the sandbox server needs beyond valuesync's own dependencies (the `sandbox` extra)."""


def require_sandbox_extra() -> None:
    """A ConfigError saying how to install the sandbox's server when it is missing."""
    import importlib.util

    missing = [name for name in SANDBOX_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"the sandbox CRM needs {', '.join(missing)}, which are not installed; install "
            "them with `pip install 'valuesync[sandbox]'` (`make demo` and `make test` do)"
        )


def holdings_table(sf_store: Store | None, hs_store: Store | None, finance_rows: int) -> Table:
    """Objects and record counts on each side, plus the finance export's rows."""
    from rich.table import Table

    from connectors.sandbox.fieldmap import HUBSPOT, SALESFORCE

    table = Table(title="What the sandbox holds", show_lines=False)
    table.add_column("canonical")
    table.add_column("Salesforce object")
    table.add_column("records", justify="right")
    table.add_column("HubSpot object")
    table.add_column("records", justify="right")
    for name, sf in SALESFORCE.items():
        hs = HUBSPOT[name]
        sf_n = len(sf_store.table(sf.object).records) if sf_store else 0
        hs_n = len(hs_store.table(hs.object).records) if hs_store else 0
        table.add_row(name, sf.object, f"{sf_n:,}", hs.object, f"{hs_n:,}")
    table.add_row("finance", "finance.csv (ERP export)", f"{finance_rows:,}", "", "")
    return table


def credentials_table(server: Any) -> Table:
    """The sandbox-only credentials each side accepts."""
    from rich.table import Table

    c = server.sf.credentials
    t = Table(title="Credentials (sandbox only)", show_header=False)
    t.add_column("side")
    t.add_column("what")
    t.add_column("value", style="cyan")
    for what, value in (
        ("username", c.username),
        ("password", c.password),
        ("security token", c.security_token),
        ("consumer key (OAuth)", c.consumer_key),
        ("consumer secret (OAuth)", c.consumer_secret),
    ):
        t.add_row("Salesforce", what, value)
    t.add_row("HubSpot", "private-app token", server.hs.token)
    return t


def client_help(url: str, server: Any, ca_path: Path | None) -> str:
    """How to point simple-salesforce and hubspot-api-client at the sandbox
    (docs/crm-wire.md §0)."""
    c = server.sf.credentials
    verify = f', verify="{ca_path}"' if ca_path else ""
    hs_tls = f', ssl_ca_cert="{ca_path}"' if ca_path else ""
    return (
        "# simple-salesforce builds https://*.salesforce.com URLs; a session rewrites them:\n"
        "from simple_salesforce import Salesforce\n"
        "from connectors.sandbox.clients import RewritingSession\n"
        f'sf = Salesforce(username="{c.username}", password="{c.password}", '
        f'security_token="{c.security_token}", session=RewritingSession("{url}"{verify}))\n'
        "# hubspot-api-client takes the host directly:\n"
        "from hubspot import HubSpot\n"
        f'api = HubSpot(access_token="{server.hs.token}", host="{url}"{hs_tls})'
    )


def write_value_model(data_dir: Path) -> Path:
    """The shipped value model with the sample's currency rates (EUR per unit), comments kept:
    the sample's invoices and deals are in USD and GBP too."""
    from connectors.sandbox.sampledata_people import EUR_RATE
    from mappings import SHIPPED_VALUE_MODEL

    rates = ", ".join(f"{c}: {round(1 / r, 6)}" for c, r in EUR_RATE.items() if c != "EUR")
    text = SHIPPED_VALUE_MODEL.read_text(encoding="utf-8")
    path = data_dir / "value_model.yaml"
    path.write_text(re.sub(r"(?m)^rates: \{\}", f"rates: {{{rates}}}", text, count=1), "utf-8")
    return path


def project_help(server: Any, crm: str, data_dir: Path, as_of: date) -> str:
    """The shell lines that point a new project at this sandbox (README "Ops admins")."""
    c = server.sf.credentials
    side = "salesforce" if crm in ("both", "salesforce") else "hubspot"
    exports = (
        f"export SALESFORCE_USERNAME={c.username} SALESFORCE_PASSWORD={c.password} "
        f"SALESFORCE_SECURITY_TOKEN={c.security_token} SALESFORCE_CONSUMER_KEY={c.consumer_key} "
        f"SALESFORCE_CONSUMER_SECRET={c.consumer_secret}"
        if side == "salesforce"
        else f"export HUBSPOT_ACCESS_TOKEN={server.hs.token}"
    )
    after = as_of + timedelta(days=1)
    return (
        "\nPoint a project at this sandbox (in another shell):\n"
        f"  valuesync init acme --crm {side} --name acme-{side[:2]} --instance-url {server.url}\n"
        f"  {exports}\n"
        f"  cp {data_dir}/finance.csv {data_dir}/value_model.yaml acme/mappings/"
        "    # the sample ERP export; the value model with the sample's currency rates\n"
        "  cd acme\n"
        f"The sample data ends {as_of.isoformat()}: check, plan and run score it as of "
        f"{after.isoformat()} by default (--as-of)."
    )


def serve(
    crm: str = typer.Option("both", help="Which CRM side to seed: salesforce, hubspot or both."),
    port: int = typer.Option(8765, help="Port on 127.0.0.1 (0 picks a free port)."),
    accounts: int = typer.Option(
        500, min=2, help="Sample accounts to seed (with related records)."
    ),
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same data."),
    faults: str = typer.Option(
        "none", help=f"Fault profile: {', '.join(PROFILE_NAMES)} (429s, 5xx, drops, limits)."
    ),
    tls: bool = typer.Option(False, "--tls/--no-tls", help="Serve https with a throw-away CA."),
    data_dir: Annotated[
        Path | None,
        typer.Option(help=f"Where to write the sample files (default {DEFAULT_DATA_DIR})."),
    ] = None,
) -> None:
    """Run the seeded sandbox CRM (Salesforce + HubSpot wire protocols) until Ctrl-C."""
    check_choice("--crm", crm, CRMS)
    check_choice("--faults", faults, PROFILE_NAMES)
    require_sandbox_extra()
    from connectors.sandbox.load import build_sandbox
    from connectors.sandbox.sampledata import write_files
    from connectors.sandbox.site import sample_as_of

    # The sample ends with last month, so the commands' default --as-of (the first day of
    # this month) scores it, and README's flow works as written.
    with stdout().status(f"seeding {accounts:,} accounts (seed {seed})"):
        sf_store, hs_store, data = build_sandbox(accounts, seed, crm, as_of=sample_as_of())
    out = data_dir or DEFAULT_DATA_DIR
    write_files(data, out)
    write_value_model(out)
    server = _start(sf_store, hs_store, faults, port, tls)
    try:
        _announce(server, sf_store, hs_store, len(data.finance), faults, out)
        stdout().print(project_help(server, crm, out, data.as_of), highlight=False, soft_wrap=True)
        _wait_for_stop()
    finally:
        server.stop()
        stdout().print("sandbox stopped")


def _start(
    sf_store: Store | None, hs_store: Store | None, faults: str, port: int, tls: bool
) -> Any:
    from connectors.sandbox.faults import PROFILES
    from connectors.sandbox.server import SandboxServer

    server = SandboxServer(
        sf_store=sf_store, hs_store=hs_store, profile=PROFILES[faults], port=port, tls=tls
    )
    try:
        return server.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); "
            "choose another port with --port, or --port 0 for a free one"
        ) from exc


def _announce(
    server: Any,
    sf_store: Store | None,
    hs_store: Store | None,
    finance_rows: int,
    faults: str,
    data_dir: Path,
) -> None:
    from rich.panel import Panel

    url = server.url
    stdout().print(Panel.fit(f"[bold green]sandbox CRM serving on {url}[/]", title="valuesync"))
    stdout().print(credentials_table(server))
    stdout().print(client_help(url, server, server.ca_path), soft_wrap=True, highlight=False)
    stdout().print(holdings_table(sf_store, hs_store, finance_rows))
    stdout().print(f"fault profile: [bold]{faults}[/]   sample files: {data_dir}/")
    if server.ca_path:
        stdout().print(f"CA certificate: {server.ca_path}")
    stdout().print("Press Ctrl-C to stop.")


def _wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
