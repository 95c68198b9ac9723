"""The state of one sandbox Salesforce org, and the helpers every route shares.

Routes live in sibling modules (auth, rest, query, bulk, tooling); each exposes
`routes(org) -> list[BaseRoute]`. This module holds what they share: the record store,
credentials and sessions, the daily API counter behind `Sforce-Limit-Info` and
`/limits`, and the Salesforce error and record shapes (see docs/crm-wire.md §A2).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.sandbox.faults import FaultController
from connectors.sandbox.store import Store

API_VERSION = "59.0"
ORG_ID = "00D000000000001EAA"
USER_ID = "005000000000001AAA"


@dataclass(frozen=True)
class Credentials:
    """What the sandbox org accepts. These are sandbox-only values, printed by `sandbox serve`."""

    username: str = "admin@sandbox.valuesync.test"
    password: str = "sandbox-password"
    security_token: str = "sandboxtoken"
    consumer_key: str = "sandbox-consumer-key"
    consumer_secret: str = "sandbox-consumer-secret"
    jwt_public_key_pem: str | None = None
    """PEM of the public key whose private half signs JWT-bearer assertions (None: any RS256
    key is accepted)."""


@dataclass
class SalesforceOrg:
    """One org: records, sessions, quota and fault hooks."""

    store: Store
    faults: FaultController
    credentials: Credentials = field(default_factory=Credentials)
    base_url: str = ""
    """Set by the server once it knows its port, e.g. http://127.0.0.1:54321."""
    bulk_processing_seconds: float = 0.0
    """How long a Bulk 2.0 ingest job stays InProgress after UploadComplete."""
    bulk_query_shuffle: bool = True
    """Serve a Bulk 2.0 query without ORDER BY in a shuffled order: Salesforce promises no
    order then (its jobs run in parallel chunks), so a client must not rely on one."""

    def __post_init__(self) -> None:
        self.sessions: set[str] = set()
        self.api_used = 0
        self.bulk_queries: list[str] = []
        """The SOQL of every Bulk 2.0 query job created, in order (for tests)."""
        self._lock = threading.Lock()

    # --- sessions -------------------------------------------------------------------
    def new_session(self) -> str:
        token = f"{ORG_ID}!AQ{secrets.token_urlsafe(24)}"
        with self._lock:
            self.sessions.add(token)
        return token

    def expire_all_sessions(self) -> None:
        with self._lock:
            self.sessions.clear()

    def check_auth(self, request: Request) -> Response | None:
        """None when the bearer token is valid; else the 401 Salesforce sends (a JSON list).

        An injected "expire_session" fault revokes the presented token (one-shot: a
        new login's token is accepted), as a real session timeout would.
        """
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        if token and token in self.sessions and self.faults.take_expire_session(request.url.path):
            with self._lock:
                self.sessions.discard(token)
        if token not in self.sessions:
            return self.error(401, "INVALID_SESSION_ID", "Session expired or invalid", count=False)
        return None

    # --- quota ----------------------------------------------------------------------
    @property
    def api_max(self) -> int:
        return self.faults.profile.sf_daily_limit

    def count_call(self) -> Response | None:
        """Count one API call; the 403 REQUEST_LIMIT_EXCEEDED when the daily limit is spent."""
        with self._lock:
            if self.api_used >= self.api_max:
                return self.error(
                    403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", count=False
                )
            self.api_used += 1
        return None

    def limit_headers(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_max}"}

    # --- responses ------------------------------------------------------------------
    def json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """A JSON response with the `Sforce-Limit-Info` header Salesforce sends on REST calls."""
        return JSONResponse(
            data, status_code=status, headers={**self.limit_headers(), **(headers or {})}
        )

    def error(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[str] | None = None,
        *,
        count: bool = True,
    ) -> Response:
        """Salesforce's REST error: a JSON *list* of {message, errorCode[, fields]}."""
        body: dict[str, Any] = {"message": message, "errorCode": code}
        if fields is not None:
            body["fields"] = fields
        headers = self.limit_headers() if count else {}
        return JSONResponse([body], status_code=status, headers=headers)

    def guard(self, request: Request) -> Response | None:
        """Auth then quota: the first check every authenticated route runs."""
        return self.check_auth(request) or self.count_call()

    def record_url(self, sobject: str, record_id: str) -> str:
        return f"/services/data/v{API_VERSION}/sobjects/{sobject}/{record_id}"


def sf_datetime(value: datetime | None) -> str | None:
    """Salesforce's datetime wire format: 2024-05-01T12:00:00.000+0000."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def sf_value(value: Any) -> Any:
    """A stored Python value as Salesforce JSON emits it."""
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
