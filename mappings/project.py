"""The project file (`valuesync.yaml`): connections, the files each uses, schedules, state.

```yaml
version: 1
state:
  url: sqlite:///.valuesync/state.db     # or url_env: VALUESYNC_STATE_URL (PostgreSQL)
connections:
  acme-sf:
    crm: salesforce
    salesforce: {kind: password, domain: acme.my}   # mappings/salesforce_connection.py
    mapping: mappings/salesforce.yaml
    finance: mappings/finance.yaml                   # optional
    value_model: mappings/value_model.yaml
    schedule: "0 2 * * *"                            # optional cron (UTC)
```

Relative paths are relative to the project file's folder. Secrets never appear here:
connection blocks name the environment variables that hold them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mappings import DEFAULT_FILE
from mappings.alerts import AlertsConfig
from mappings.hubspot_connection import HubSpotConnection
from mappings.salesforce_connection import SalesforceConnection
from mappings.yamlfile import load_model

DEFAULT_STATE_URL = "sqlite:///.valuesync/state.db"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StateConfig(_Strict):
    """Where the state database lives: a URL, or the env var holding one (with a password)."""

    url: str | None = None
    url_env: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> StateConfig:
        if self.url and self.url_env:
            raise ValueError("give either url or url_env, not both")
        if self.url is not None:
            problem = state_url_problem(self.url)
            if problem:
                raise ValueError(problem)
        if self.url and "@" in self.url and ":" in self.url.split("@")[0].split("//")[-1]:
            raise ValueError(
                "the URL contains a password; put the whole URL in an environment variable "
                "and name it with url_env"
            )
        return self


def state_url_problem(url: str) -> str | None:
    """Why `url` cannot be a state database URL (never echoing a password), or None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    example = "sqlite:///.valuesync/state.db or postgresql+psycopg://user@host/db"
    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        return f"the state URL is not a database URL; write one such as {example}"
    if backend not in ("sqlite", "postgresql"):
        return f"the state URL uses '{backend}'; valuesync supports {example}"
    return None


class _ConnectionBase(_Strict):
    """What every CRM connection has: the files that configure its runs, and a schedule."""

    mapping: Path
    finance: Path | None = None
    value_model: Path
    schedule: str | None = None
    """Cron expression (minute hour day month weekday, UTC) for `scheduler start`."""

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None and len(v.split()) != 5:
            raise ValueError(
                "schedule is a 5-field cron expression (minute hour day month weekday), "
                "e.g. '0 2 * * *'"
            )
        return v


class SalesforceProjectConnection(_ConnectionBase):
    """A Salesforce org: `crm: salesforce` and a `salesforce:` block."""

    crm: Literal["salesforce"]
    salesforce: SalesforceConnection


class HubSpotProjectConnection(_ConnectionBase):
    """A HubSpot portal: `crm: hubspot` and a `hubspot:` block."""

    crm: Literal["hubspot"]
    hubspot: HubSpotConnection


Connection = Annotated[
    SalesforceProjectConnection | HubSpotProjectConnection, Field(discriminator="crm")
]
"""One CRM connection; `crm` says which block it has, so each has exactly its own."""


class Project(_Strict):
    """The whole project file."""

    version: Literal[1] = 1
    state: StateConfig = Field(default_factory=StateConfig)
    connections: dict[str, Connection]
    alerts: AlertsConfig | None = None
    """Channels, triggers and the value review digest (mappings/alerts.py)."""

    @field_validator("connections")
    @classmethod
    def _names(cls, v: dict[str, Connection]) -> dict[str, Connection]:
        if not v:
            raise ValueError("add at least one connection")
        bad = [n for n in v if not n.replace("-", "").replace("_", "").isalnum()]
        if bad:
            raise ValueError(
                f"connection names may use letters, digits, '-' and '_' only: {', '.join(bad)}"
            )
        return v


class LoadedProject:
    """A validated project file with its paths resolved against the file's folder."""

    def __init__(self, path: Path, project: Project) -> None:
        self.path = path
        self.root = path.parent
        self.project = project

    def resolve(self, p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else self.root / p)

    def connection(self, name: str | None) -> tuple[str, Connection]:
        """The named connection, or the only one; a ConfigError names the choices."""
        from mappings.errors import ConfigError, ConfigProblem

        conns = self.project.connections
        if name is None and len(conns) == 1:
            return next(iter(conns.items()))
        if name in conns:
            return name, conns[name]
        choices = ", ".join(conns)
        msg = (
            f"connection '{name}' is not defined; choose one of: {choices}"
            if name
            else f"several connections are defined; pass --connection with one of: {choices}"
        )
        raise ConfigError([ConfigProblem(str(self.path), "connections", msg)])


def load_project(path: Path | str = DEFAULT_FILE) -> LoadedProject:
    """Load and validate the project file; every problem at once in one ConfigError."""
    p = Path(path)
    return LoadedProject(p, load_model(p, Project))
