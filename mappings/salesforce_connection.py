"""How valuesync connects to one Salesforce org (the `salesforce:` connection config).

The auth mode is an explicit `kind`; the YAML holds only the *names* of environment
variables that hold secrets (`password_env: SALESFORCE_PASSWORD`), never a secret.
Secrets are read from the environment, or from a file named after the variable in
`secrets_dir` (Docker/Kubernetes secrets), into `SecretStr`, which masks them in every
repr and log line.

```yaml
kind: password                 # password | client_credentials | jwt | session
domain: acme.my                # My Domain prefix, or login / test
instance_url: https://acme.my.salesforce.com
api_version: "59.0"
username_env: SALESFORCE_USERNAME
password_env: SALESFORCE_PASSWORD
security_token_env: SALESFORCE_SECURITY_TOKEN
consumer_key_env: SALESFORCE_CONSUMER_KEY
consumer_secret_env: SALESFORCE_CONSUMER_SECRET
permission_set: valuesync
```
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from mappings.errors import ConfigError, ConfigProblem
from mappings.yamlfile import load_model

AuthKind = Literal["password", "client_credentials", "jwt", "session"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_VERSION = re.compile(r"^\d{2,3}\.0$")

# Which secrets each auth kind needs (config key holding the env var name).
REQUIRED_SECRETS: dict[str, tuple[str, ...]] = {
    "password": ("username_env", "password_env", "consumer_key_env", "consumer_secret_env"),
    "client_credentials": ("consumer_key_env", "consumer_secret_env"),
    "jwt": ("username_env", "consumer_key_env"),
    "session": ("session_token_env",),
}


def _url(value: str | None, key: str) -> str | None:
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{key} must be a URL like https://acme.my.salesforce.com, got {value!r}")
    if parsed.path not in ("", "/"):
        raise ValueError(f"{key} must have no path (just scheme://host[:port]), got {value!r}")
    return f"{parsed.scheme}://{parsed.netloc}"


class SalesforceConnection(BaseModel):
    """Connection settings of one Salesforce org; secrets are referenced by env var name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AuthKind
    domain: str = "login"
    """Login domain prefix: `login`, `test` (sandboxes) or a My Domain such as `acme.my`."""
    login_url: str | None = None
    """Where login requests go; default `https://{domain}.salesforce.com`."""
    instance_url: str | None = None
    """The org's instance (required for kind=session); overrides what login returns."""
    api_version: str = "59.0"

    username_env: str = "SALESFORCE_USERNAME"
    password_env: str = "SALESFORCE_PASSWORD"
    security_token_env: str | None = "SALESFORCE_SECURITY_TOKEN"
    """Optional: appended to the password (not needed from a trusted IP range)."""
    consumer_key_env: str = "SALESFORCE_CONSUMER_KEY"
    consumer_secret_env: str = "SALESFORCE_CONSUMER_SECRET"
    session_token_env: str = "SALESFORCE_SESSION_TOKEN"
    private_key_file: Path | None = None
    """kind=jwt: PEM private key whose certificate is on the connected app."""
    private_key_env: str | None = None
    """kind=jwt: alternatively, an env var holding the PEM text."""
    secrets_dir: Path | None = None
    """Fallback: read a secret from the file `secrets_dir/<ENV_NAME>`."""

    bulk_query_threshold: int = Field(10_000, ge=1)
    """Pull with Bulk API 2.0 from this many rows (COUNT() estimate) upward."""
    bulk_query_page: int = Field(50_000, ge=1)
    """Rows per Bulk 2.0 results page (maxRecords)."""
    rest_batch_size: int = Field(2000, ge=200, le=2000)
    """REST query page size (Sforce-Query-Options batchSize)."""
    bulk_write_threshold: int = Field(2000, ge=1)
    """Write with Bulk API 2.0 ingest from this many changed records upward."""
    overlap_seconds: float = Field(60.0, ge=0)
    """Incremental pulls re-read this much time before the cursor (late commits)."""
    api_reserve_share: float = Field(0.2, ge=0, lt=1)
    """Stop before the org's remaining daily API requests fall below this share of the limit."""
    bulk_poll_seconds: float = Field(1.0, ge=0)
    """Wait before each Bulk job status poll."""
    bulk_timeout_seconds: float = Field(3600.0, gt=0)
    timeout_seconds: float = Field(120.0, gt=0)
    """HTTP timeout of one request."""
    full_reconciliation_hours: float = Field(168.0, gt=0)
    """A full read at least this often (and on `run --full`): records purged from the
    recycle bin never come back through queryAll, so only a full read finds them gone."""
    permission_set: str = "valuesync"
    """Permission set granted read/edit on provisioned fields (its API Name)."""

    @field_validator("login_url", "instance_url")
    @classmethod
    def _urls(cls, v: str | None, info: object) -> str | None:
        return _url(v, getattr(info, "field_name", "url"))

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str) -> str:
        if not _DOMAIN.match(v) or v.endswith(".salesforce.com"):
            raise ValueError(
                "domain is the prefix before .salesforce.com: login, test or a My Domain "
                f"such as acme.my; got {v!r}"
            )
        return v

    @field_validator("api_version")
    @classmethod
    def _version(cls, v: str) -> str:
        v = v.removeprefix("v")
        if not _VERSION.match(v):
            raise ValueError(f"api_version looks like 59.0, got {v!r}")
        return v

    @field_validator(
        "username_env", "password_env", "security_token_env", "consumer_key_env",
        "consumer_secret_env", "session_token_env", "private_key_env",
    )  # fmt: skip
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.match(v):
            raise ValueError(
                f"{v!r} is not an environment variable name; the YAML names the variable "
                "that holds the secret (e.g. SALESFORCE_PASSWORD), never the secret itself"
            )
        return v

    @model_validator(mode="after")
    def _kind_needs(self) -> SalesforceConnection:
        if self.kind == "session" and self.instance_url is None:
            raise ValueError("kind: session needs instance_url (the org the token belongs to)")
        if self.kind == "client_credentials" and self.domain in ("login", "test"):
            raise ValueError(
                "kind: client_credentials needs your My Domain in `domain` (e.g. acme.my); "
                "Salesforce does not issue client-credential tokens on login/test"
            )
        if self.kind == "jwt" and (self.private_key_file is None) == (self.private_key_env is None):
            raise ValueError("kind: jwt needs exactly one of private_key_file or private_key_env")
        return self

    @property
    def effective_login_url(self) -> str:
        return self.login_url or f"https://{self.domain}.salesforce.com"


@dataclass(frozen=True)
class SalesforceSecrets:
    """The secrets one auth kind needs, masked in every repr."""

    username: SecretStr | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    session_token: SecretStr | None = None
    private_key: SecretStr | None = None


def _read(name: str, env: Mapping[str, str], secrets_dir: Path | None) -> str | None:
    value = env.get(name)
    if value:
        return value
    if secrets_dir is not None:
        path = Path(secrets_dir) / name
        if path.is_file():
            return path.read_text(encoding="utf-8").strip() or None
    return None


def resolve_secrets(
    conn: SalesforceConnection, env: Mapping[str, str] | None = None, source: str = "connection"
) -> SalesforceSecrets:
    """Read the secrets `conn.kind` needs; every missing one in one ConfigError."""
    env = os.environ if env is None else env
    found: dict[str, SecretStr | None] = {}
    problems: list[ConfigProblem] = []
    where = f" or the file {conn.secrets_dir}/<NAME>" if conn.secrets_dir else ""
    for key in REQUIRED_SECRETS[conn.kind]:
        name = getattr(conn, key)
        value = _read(name, env, conn.secrets_dir)
        if value is None:
            problems.append(
                ConfigProblem(
                    source,
                    key,
                    f"kind {conn.kind} needs the environment variable {name}{where}; "
                    "set it (the value is never read from YAML)",
                )  # fmt: skip
            )
        found[key.removesuffix("_env")] = SecretStr(value) if value else None
    if conn.security_token_env and conn.kind == "password":
        token = _read(conn.security_token_env, env, conn.secrets_dir)
        found["security_token"] = SecretStr(token) if token else None
    if conn.kind == "jwt":
        found["private_key"] = _private_key(conn, env, source, problems)
    if problems:
        raise ConfigError(problems)
    return SalesforceSecrets(**found)


def _private_key(
    conn: SalesforceConnection, env: Mapping[str, str], source: str, problems: list[ConfigProblem]
) -> SecretStr | None:
    if conn.private_key_env:
        text = _read(conn.private_key_env, env, conn.secrets_dir)
        if not text:
            problems.append(
                ConfigProblem(
                    source, "private_key_env", f"set {conn.private_key_env} to the PEM key"
                )
            )
        return SecretStr(text) if text else None
    path = Path(conn.private_key_file or "")
    try:
        return SecretStr(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(
            ConfigProblem(
                source,
                "private_key_file",
                f"cannot read the private key {path} ({exc.strerror}); check the path",
            )  # fmt: skip
        )
        return None


def load_salesforce_connection(path: Path) -> SalesforceConnection:
    """Load a connection YAML; every problem at once, with file, line and key."""
    return load_model(path, SalesforceConnection)
