"""How valuesync reaches one HubSpot portal: auth, endpoint, rate limits and cadences.

The token itself never lives in YAML: the file names the environment variable that
holds it (`auth.token_env`), and `HubSpotConnection.token()` reads it as a SecretStr.
The auth mode is an explicit `kind`; both kinds send `Authorization: Bearer <token>`,
but OAuth tokens get no daily-limit headers from HubSpot, so the daily reserve then
relies on `rate_limits.daily_limit` (developers.hubspot.com/docs/api/usage-details).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from mappings.errors import ConfigError, ConfigProblem
from mappings.yamlfile import load_model

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOKEN_LIKE = re.compile(r"^(pat-|CJ|Bearer\s)", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


DEFAULT_TOKEN_ENV = {"private_app": "HUBSPOT_ACCESS_TOKEN", "oauth": "HUBSPOT_OAUTH_TOKEN"}


class Auth(_Strict):
    """How valuesync authenticates: a private-app token or an OAuth access token.

    Both are sent as `Authorization: Bearer <token>`; only private apps get daily-limit
    headers. The token is refreshed outside valuesync for OAuth.
    """

    kind: Literal["private_app", "oauth"] = "private_app"
    token_env: str | None = None
    """Name of the environment variable holding the token (never the token itself);
    default HUBSPOT_ACCESS_TOKEN (private_app) or HUBSPOT_OAUTH_TOKEN (oauth)."""

    @field_validator("token_env")
    @classmethod
    def _is_env_name(cls, value: str | None) -> str | None:
        if value is not None and (_TOKEN_LIKE.match(value) or not _ENV_NAME.match(value)):
            raise ValueError(
                "must name an environment variable (e.g. HUBSPOT_ACCESS_TOKEN), not hold a "
                "token; put the token in that variable"
            )
        return value

    @property
    def env_name(self) -> str:
        return self.token_env or DEFAULT_TOKEN_ENV[self.kind]


class RateLimits(_Strict):
    """Client-side limits; the X-HubSpot-RateLimit-* headers tighten them when present."""

    ten_second_limit: int = Field(default=100, ge=1)
    """Calls per rolling interval (Free/Starter private apps: 100 per 10 s)."""
    interval_seconds: float = Field(default=10.0, gt=0)
    search_per_second: float = Field(default=4.0, gt=0)
    """Search has its own, stricter limit (4-5 per second per portal)."""
    daily_limit: int | None = Field(default=None, ge=1)
    """Daily calls of the portal when headers do not say (OAuth); None = learn from headers."""
    daily_reserve_share: float = Field(default=0.2, ge=0, lt=1)
    """Stop cleanly when the portal's remaining daily calls would fall under this share."""


class Cadence(_Strict):
    """How often the expensive full reads run, independent of incremental cursors."""

    full_reconciliation_hours: float = Field(default=168.0, gt=0)
    """A full list read (archived records included) at least this often."""
    associations_refresh_hours: float = Field(default=24.0, gt=0)
    """Association changes do not bump hs_lastmodifieddate, so re-read them all this often."""


class HubSpotConnection(_Strict):
    """One HubSpot portal connection."""

    system: Literal["hubspot"] = "hubspot"
    auth: Auth = Field(default_factory=Auth)
    base_url: str = "https://api.hubapi.com"
    """HubSpot, or any HubSpot-compatible endpoint (e.g. http://127.0.0.1:PORT)."""
    timeout_seconds: float = Field(default=30.0, gt=0)
    rate_limits: RateLimits = Field(default_factory=lambda: RateLimits())
    cadence: Cadence = Field(default_factory=lambda: Cadence())
    cursor_overlap_seconds: float = Field(default=60.0, ge=0)
    """Incremental pulls start this far before the cursor (search indexing lags writes)."""
    search_window_target: int = Field(default=5_000, ge=200, le=9_800)
    """Adaptive windows aim at this many results; none may reach the 10,000 search cap."""
    portal_id: int | None = Field(default=None, gt=0)
    """The portal's id (Hub ID, in HubSpot's account menu): with it the console links each
    account to its record page; without it, no link."""
    ui_domain: str = Field(default="app.hubspot.com", pattern=r"^[a-z0-9.-]+$")
    """The host of HubSpot's web app for this portal (app-eu1.hubspot.com for EU-hosted)."""
    import_threshold: int = Field(default=2_000, ge=1)
    """From this many changed records of one object, a push is one CRM import (a CSV file
    per call) instead of batch updates of 100 (docs/crm-wire.md §B13)."""
    import_wait_seconds: float = Field(default=3_600.0, gt=0)
    """How long a push waits for its import to finish before it stops the run."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://api.hubapi.com")
        return value.rstrip("/")

    def token(self, env: Mapping[str, str] | None = None, source: str = "") -> SecretStr:
        """The access token from the environment; a ConfigError naming the variable if unset."""
        env = os.environ if env is None else env
        value = env.get(self.auth.env_name, "").strip()
        if not value:
            raise ConfigError(
                [
                    ConfigProblem(
                        source,
                        "auth.token_env",
                        f"environment variable {self.auth.env_name} is not set; export the "
                        f"HubSpot {self.auth.kind.replace('_', '-')} token in it",
                    )
                ]
            )
        return SecretStr(value)


def load_hubspot_connection(path: Path) -> HubSpotConnection:
    """Load a HubSpot connection file; every problem at once in one ConfigError."""
    return load_model(path, HubSpotConnection)
