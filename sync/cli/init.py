"""`valuesync init [DIR]`: a project file and the shipped mappings, ready to edit.

Writes DIR/valuesync.yaml with one connection whose CRM block names the environment
variables that hold the secrets (never a secret), and copies the shipped mapping, finance
and value model files into DIR/mappings/. Refuses to overwrite anything without --force.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

import typer

import mappings
from mappings.errors import ConfigError, ConfigProblem
from sync.cli.options import JsonOpt, emit_json, examples

CRMS = ("salesforce", "hubspot")
SHIPPED = Path(mappings.__file__).parent
EPILOG = examples(
    "valuesync init acme --crm salesforce --name acme-sf",
    "valuesync init . --crm hubspot --force",
    "valuesync init demo --crm salesforce --instance-url http://127.0.0.1:8765",
)

SALESFORCE_BLOCK = """\
    salesforce:
      kind: password                 # password | client_credentials | jwt | session
      domain: login                  # login, test (sandbox orgs) or your My Domain, e.g. acme.my
{urls}\
      # Secrets are read from these environment variables, never from this file:
      username_env: SALESFORCE_USERNAME
      password_env: SALESFORCE_PASSWORD
      security_token_env: SALESFORCE_SECURITY_TOKEN
      consumer_key_env: SALESFORCE_CONSUMER_KEY
      consumer_secret_env: SALESFORCE_CONSUMER_SECRET
"""
HUBSPOT_BLOCK = """\
    hubspot:
{urls}\
      auth:
        kind: private_app            # private_app | oauth
        token_env: HUBSPOT_ACCESS_TOKEN   # the variable holding the token, never the token
"""
PROJECT = """\
# valuesync project file: connections, the files each run uses, and the state database.
# Paths are relative to this file's folder. Secrets never go here.
version: 1
state:
  url: sqlite:///.valuesync/state.db   # or url_env: VALUESYNC_STATE_URL (PostgreSQL)
connections:
  {name}:
    crm: {crm}
{block}\
    mapping: mappings/{crm}.yaml
    finance: mappings/finance.yaml
    value_model: mappings/value_model.yaml
    # schedule: "0 2 * * *"            # cron (UTC) for `valuesync scheduler start`
"""
SECRETS = {
    "salesforce": (
        "SALESFORCE_USERNAME",
        "SALESFORCE_PASSWORD",
        "SALESFORCE_SECURITY_TOKEN",
        "SALESFORCE_CONSUMER_KEY",
        "SALESFORCE_CONSUMER_SECRET",
    ),
    "hubspot": ("HUBSPOT_ACCESS_TOKEN",),
}

DirArg = Annotated[
    Path, typer.Argument(help="Folder for the project (created if missing).", metavar="DIR")
]
CrmOpt = Annotated[str, typer.Option("--crm", help="The CRM: salesforce or hubspot.")]
NameOpt = Annotated[
    str | None, typer.Option("--name", help="Connection name (default: the CRM's name).")
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--instance-url",
        help="Salesforce instance URL or HubSpot API base URL (e.g. a local sandbox); "
        "default: the vendor's production endpoints.",
        metavar="URL",
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing files.")]


def init(
    directory: DirArg = Path("."),
    crm: CrmOpt = "salesforce",
    name: NameOpt = None,
    instance_url: UrlOpt = None,
    force: ForceOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Create a project: valuesync.yaml and the shipped mappings, ready to edit."""
    from mappings import DEFAULT_FILE
    from mappings.project import load_project
    from sync.cli.render import out
    from sync.cli.sandbox import check_choice

    check_choice("--crm", crm, CRMS)
    name = name or crm
    files = plan_files(directory, crm)
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise ConfigError(
            [
                ConfigProblem(
                    str(p), "", "already exists; pass --force to overwrite, or choose another DIR"
                )
                for p in existing
            ]
        )
    (directory / "mappings").mkdir(parents=True, exist_ok=True)
    project_file = directory / DEFAULT_FILE
    project_file.write_text(project_text(crm, name, instance_url), encoding="utf-8")
    for target in files[1:]:
        shutil.copyfile(SHIPPED / target.name, target)
    load_project(project_file)  # what we wrote must load; a bad --name or URL shows here
    if json_output:
        emit_json(
            {
                "project": str(project_file),
                "connection": name,
                "crm": crm,
                "files": [str(p) for p in files],
                "secrets_env": list(SECRETS[crm]),
            }
        )
        return
    out.print(f"[green]created[/] {', '.join(str(p) for p in files)}", highlight=False)
    out.print(next_steps(directory, crm, name), highlight=False, soft_wrap=True)


def plan_files(directory: Path, crm: str) -> list[Path]:
    """The files init writes: the project file first, then the mappings."""
    from mappings import DEFAULT_FILE

    names = (f"{crm}.yaml", "finance.yaml", "value_model.yaml")
    return [directory / DEFAULT_FILE, *(directory / "mappings" / n for n in names)]


def project_text(crm: str, name: str, instance_url: str | None) -> str:
    """The project file's text, with comments."""
    urls = ""
    if instance_url and crm == "salesforce":
        urls = f"      instance_url: {instance_url}\n"
        if not urlparse(instance_url).netloc.endswith(".salesforce.com"):
            urls += f"      login_url: {instance_url}   # a Salesforce-compatible endpoint\n"
    elif instance_url:
        urls = f"      base_url: {instance_url}\n"
    block = (SALESFORCE_BLOCK if crm == "salesforce" else HUBSPOT_BLOCK).format(urls=urls)
    return PROJECT.format(name=name, crm=crm, block=block)


def next_steps(directory: Path, crm: str, name: str) -> str:
    cd = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory}\n  "
    exports = "\n  ".join(f"export {v}=..." for v in SECRETS[crm])
    return (
        "\n[bold]Next steps[/]\n"
        f"  {cd}{exports}\n"
        "  # put the finance export (finance.csv) in mappings/, next to finance.yaml\n"
        f"  valuesync check                 # every file + a live describe of the {crm} objects\n"
        "  valuesync fields provision      # create the output fields in the CRM\n"
        "  valuesync plan                  # dry run: what would change\n"
        "  valuesync run                   # write the values back\n"
        f"  valuesync schedule add --connection {name} --cron '0 2 * * *'"
    )
