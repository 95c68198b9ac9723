"""The `alerts:` section of the project file: channels, triggers and the value review digest.

```yaml
alerts:
  channels:
    ops-mail:
      kind: email
      host: smtp.example.com
      port: 587
      security: starttls            # none | starttls | tls
      username_env: SMTP_USER       # optional; both or neither
      password_env: SMTP_PASSWORD
      sender: valuesync@example.com
      to: [ops@example.com]
    ops-slack: {kind: slack, url_env: SLACK_WEBHOOK_URL}
    hook: {kind: webhook, url_env: ALERT_WEBHOOK_URL, secret_env: ALERT_WEBHOOK_SECRET}
    owners: {kind: crm_task, connections: [acme-sf]}   # omitted connections = every one
  triggers:
    - {name: failed, kind: run_failed, severity: critical, channels: [ops-mail, ops-slack]}
    - {kind: rejected_share, threshold: 0.05}
    - {kind: record_count, object: accounts, window: 5, deviation: 0.3}
    - {kind: slow_run, max_seconds: 1800}
    - {kind: finance_stale, max_age_days: 35}
    - {kind: quadrant_migration, from: [Core], to: [Fix or Reprice], min_clv: 10000,
       channels: [owners]}
  digest:
    schedule: "0 7 1 * *"
    channels: [ops-mail, owners]
    per_owner: {channel: ops-mail, addresses: crm}   # each manager: their own accounts
```

Secrets never appear here: channels name the environment variables that hold the
SMTP password, the webhook URLs (a Slack URL is a credential) and the HMAC secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from mappings.errors import ConfigError, ConfigProblem

Severity = Literal["info", "warning", "critical"]
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _env_name(v: str | None) -> str | None:
    if v is not None and not ENV_NAME.match(v):
        raise ValueError(
            f"'{v}' is not an environment variable name (UPPER_CASE letters, digits, '_'); "
            "secrets go in the environment, the project file only names the variable"
        )
    return v


class EmailChannel(_Strict):
    """E-mail over SMTP: plain, STARTTLS or implicit TLS, with optional login."""

    kind: Literal["email"]
    host: str
    port: int | None = None
    """Default: 465 for tls, 587 for starttls, 25 for none."""
    security: Literal["none", "starttls", "tls"] = "starttls"
    username_env: str | None = None
    password_env: str | None = None
    sender: str
    to: list[str] = Field(min_length=1)
    timeout_seconds: float = Field(default=10.0, gt=0)
    ca_file: str | None = None
    """A CA bundle to verify the server with (a private CA); default: the system's."""

    @field_validator("username_env", "password_env")
    @classmethod
    def _names(cls, v: str | None) -> str | None:
        return _env_name(v)

    @model_validator(mode="after")
    def _login_pair(self) -> EmailChannel:
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("give both username_env and password_env, or neither")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"tls": 465, "starttls": 587, "none": 25}[self.security]


class SlackChannel(_Strict):
    """A Slack incoming webhook (its URL is a secret: named by env var)."""

    kind: Literal["slack"]
    url_env: str
    timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("url_env")
    @classmethod
    def _names(cls, v: str) -> str:
        return str(_env_name(v))


class WebhookChannel(_Strict):
    """A generic JSON webhook; the body is signed with HMAC-SHA256 in a header."""

    kind: Literal["webhook"]
    url_env: str
    secret_env: str
    signature_header: str = "X-Valuesync-Signature"
    timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("url_env", "secret_env")
    @classmethod
    def _names(cls, v: str) -> str:
        return str(_env_name(v))


class CrmTaskChannel(_Strict):
    """Tasks in the CRM for each account's owner (quadrant migrations, the digest)."""

    kind: Literal["crm_task"]
    connections: list[str] | None = None
    """The connections that create tasks; None = every connection. [] switches them off."""
    due_in_days: int = Field(default=7, ge=0)


Channel = Annotated[
    EmailChannel | SlackChannel | WebhookChannel | CrmTaskChannel, Field(discriminator="kind")
]


class _Trigger(_Strict):
    name: str | None = None
    """Unique per project; default: the kind (give names when a kind appears twice)."""
    severity: Severity = "warning"
    channels: list[str] | None = None
    """Channels this trigger notifies; None = every channel except crm_task ones."""

    @property
    def key(self) -> str:
        return self.name or str(getattr(self, "kind"))  # noqa: B009


class RunFailed(_Trigger):
    kind: Literal["run_failed"]
    severity: Severity = "critical"


class RejectedShare(_Trigger):
    kind: Literal["rejected_share"]
    threshold: float = Field(gt=0, le=1)
    """Share of written records the CRM rejected above which the trigger fires."""


class RecordCount(_Trigger):
    kind: Literal["record_count"]
    object: str = "accounts"
    window: int = Field(default=5, ge=1)
    """Rolling average of the last N successful runs' pulled records."""
    deviation: float = Field(default=0.5, gt=0)
    """Relative deviation from the average that fires (0.5 = 50 %)."""


class SlowRun(_Trigger):
    kind: Literal["slow_run"]
    max_seconds: float = Field(gt=0)


class FinanceStale(_Trigger):
    kind: Literal["finance_stale"]
    max_age_days: int = Field(default=35, ge=1)


class QuadrantMigration(_Trigger):
    """Accounts moving between quadrants: one notice per moved account, per owner."""

    kind: Literal["quadrant_migration"]
    from_quadrants: list[str] | None = Field(default=None, alias="from")
    """Quadrants left; None = any."""
    to_quadrants: list[str] | None = Field(default=None, alias="to")
    min_clv: float | None = None
    owners: list[str] | None = None
    """Only accounts of these owner ids; None = every owner."""


Trigger = Annotated[
    RunFailed | RejectedShare | RecordCount | SlowRun | FinanceStale | QuadrantMigration,
    Field(discriminator="kind"),
]


class PerOwner(_Strict):
    """Each account manager also gets a digest of their own accounts, by e-mail."""

    channel: str
    """An email channel: its server, login and sender are used, not its `to`."""
    addresses: Literal["crm"] | dict[str, str] = "crm"
    """Where owners' addresses come from: `crm` (the CRM's users / owners), or a map of
    owner id -> address (owners it leaves out are covered by the full digest only)."""


class Digest(_Strict):
    """The value review digest: per account manager, the accounts that moved and why."""

    schedule: str = "0 7 1 * *"
    """Cron (UTC); default: 07:00 on the first of each month."""
    channels: list[str] | None = None
    attach_report: bool = True
    per_owner: PerOwner | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        if len(v.split()) != 5:
            raise ValueError("schedule is a 5-field cron expression, e.g. '0 7 1 * *'")
        return v


class AlertsConfig(_Strict):
    """Everything under `alerts:`."""

    channels: dict[str, Channel] = Field(default_factory=dict)
    triggers: list[Trigger] = Field(default_factory=list)
    digest: Digest | None = None
    max_attempts: int = Field(default=5, ge=1)
    """Delivery attempts (one per run) before a failed delivery is given up."""

    @model_validator(mode="after")
    def _references(self) -> AlertsConfig:
        keys = [t.key for t in self.triggers]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"trigger names must be unique; name the repeated ones: {dupes}")
        lists = [t.channels for t in self.triggers]
        lists.append(self.digest.channels if self.digest else None)
        per_owner = self.digest.per_owner if self.digest else None
        lists.append([per_owner.channel] if per_owner else None)
        unknown = sorted({c for cs in lists for c in cs or [] if c not in self.channels})
        if unknown:
            raise ValueError(
                f"unknown channel(s) {', '.join(unknown)}; defined: {', '.join(self.channels)}"
            )
        if per_owner and self.channels[per_owner.channel].kind != "email":
            raise ValueError(
                f"digest.per_owner.channel '{per_owner.channel}' is a "
                f"{self.channels[per_owner.channel].kind} channel; name an email channel"
            )
        return self

    def channels_for(self, names: list[str] | None, *, crm: bool = False) -> list[str]:
        """The channel names a trigger / the digest notifies (default: all but crm_task)."""
        if names is not None:
            return [n for n in names if crm or self.channels[n].kind != "crm_task"]
        return [n for n, c in self.channels.items() if c.kind != "crm_task"]

    def crm_channels(self, names: list[str] | None, connection: str) -> list[CrmTaskChannel]:
        """The crm_task channels among `names` switched on for `connection`."""
        found = []
        for n in names or []:
            c = self.channels[n]
            if isinstance(c, CrmTaskChannel) and (
                c.connections is None or connection in c.connections
            ):
                found.append(c)
        return found


def secret(env: Mapping[str, str], name: str, where: str) -> SecretStr:
    """The value of env var `name` as a SecretStr; ConfigError naming it when unset."""
    value = env.get(name)
    if not value:
        raise ConfigError(
            [ConfigProblem("valuesync.yaml", where, f"environment variable {name} is not set")]
        )
    return SecretStr(value)
