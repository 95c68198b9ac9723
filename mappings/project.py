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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mappings.alerts import AlertsConfig
from mappings.hubspot_connection import HubSpotConnection
from mappings.salesforce_connection import SalesforceConnection
from mappings.yamlfile import load_model

DEFAULT_FILE = "valuesync.yaml"
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
        if self.url and "@" in self.url and ":" in self.url.split("@")[0].split("//")[-1]:
            raise ValueError(
                "the URL contains a password; put the whole URL in an environment variable "
                "and name it with url_env"
            )
        return self


class Connection(_Strict):
    """One CRM connection and the files that configure its runs."""

    crm: Literal["salesforce", "hubspot"]
    salesforce: SalesforceConnection | None = None
    hubspot: HubSpotConnection | None = None
    mapping: Path
    finance: Path | None = None
    value_model: Path
    schedule: str | None = None
    """Cron expression (minute hour day month weekday, UTC) for `scheduler start`."""

    @model_validator(mode="after")
    def _crm_block(self) -> Connection:
        block = getattr(self, self.crm)
        other = "hubspot" if self.crm == "salesforce" else "salesforce"
        if block is None:
            raise ValueError(f"crm is {self.crm}: add a '{self.crm}:' block with its settings")
        if getattr(self, other) is not None:
            raise ValueError(f"crm is {self.crm}: remove the '{other}:' block")
        return self

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None and len(v.split()) != 5:
            raise ValueError(
                "schedule is a 5-field cron expression (minute hour day month weekday), "
                "e.g. '0 2 * * *'"
            )
        return v


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
