"""One logged-in simple-salesforce client, every call retried, refreshed and translated.

`SalesforceApi.call(what, fn)` runs `fn(sf)` under the shared retry policy
(connectors/retry.py). An expired session (401 INVALID_SESSION_ID) is refreshed once by
logging in again; a second 401 is an AuthError. simple-salesforce's own re-login is
not used: it retries up to 3 times in `Salesforce` and without a bound in `SFType`
(docs/crm-wire.md §A2), and Bulk 2.0 calls have none at all. Every
simple-salesforce exception is translated here into the project's error tree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from requests.exceptions import JSONDecodeError
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import _Bulk2Client
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceOperationError,
    SalesforceRefusedRequest,
)

from connectors.retry import DEFAULT_POLICY, RetryPolicy, retrying
from connectors.salesforce.transport import SalesforceTransport, login
from mappings.errors import (
    AuthError,
    ConnectorError,
    FatalApiError,
    QuotaError,
    RetryableError,
    ValuesyncError,
)
from mappings.salesforce_connection import (
    REQUIRED_SECRETS,
    SalesforceConnection,
    SalesforceSecrets,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION"}
)
"""Vendor error codes worth retrying (per request and per record)."""


def _first_error(content: Any) -> tuple[str | None, str]:
    """(errorCode, message) from Salesforce's REST error body (a JSON list)."""
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return content[0].get("errorCode"), str(content[0].get("message", ""))
    if isinstance(content, Mapping):
        return content.get("errorCode") or content.get("error"), str(content.get("message", ""))
    return None, str(content)[:300]


def translate(exc: Exception, what: str, conn: SalesforceConnection) -> ValuesyncError:
    """The project error for a simple-salesforce exception raised during `what`."""
    kw: dict[str, Any] = {"system": "salesforce", "operation": what}
    if isinstance(exc, SalesforceAuthenticationFailed):
        names = ", ".join(getattr(conn, k) for k in REQUIRED_SECRETS[conn.kind])
        return AuthError(
            f"login ({conn.kind}) was refused: {exc.code}: {exc.auth_message}. Check {names} "
            f"and the connected app; login goes to {conn.effective_login_url}",
            code=str(exc.code),
            **kw,
        )
    if isinstance(exc, SalesforceError):
        code, message = _first_error(exc.content)
        kw |= {"status": exc.status, "code": code}
        if isinstance(exc, SalesforceRefusedRequest) and code == "REQUEST_LIMIT_EXCEEDED":
            return QuotaError(
                f"the org's API request limit is spent ({message}); run again tomorrow", **kw
            )
        if exc.status == 429 or (exc.status or 0) >= 500 or code in TRANSIENT_CODES:
            return RetryableError(message or "transient failure", **kw)
        if isinstance(exc, SalesforceExpiredSession):
            return AuthError(f"{message}; the session could not be refreshed", **kw)
        hint = _HINTS.get(code or "", "")
        return FatalApiError(f"{message}{hint}", **kw)
    if isinstance(exc, SalesforceOperationError):
        return FatalApiError(f"{exc}".replace("\n", " ")[:500], **kw)
    return FatalApiError(f"unexpected {type(exc).__name__}: {exc}", **kw)


_HINTS = {
    "INVALID_FIELD": " (check the field names in the mapping file against the org)",
    "INVALID_TYPE": " (check the object names in the mapping file against the org)",
    "INSUFFICIENT_ACCESS": " (grant the integration user access, e.g. the permission set)",
    "API_DISABLED_FOR_ORG": " (the org's edition has no API access)",
}


class SalesforceApi:
    """A lazily logged-in simple-salesforce client behind one retry/refresh/translate seam."""

    def __init__(
        self,
        conn: SalesforceConnection,
        secrets: SalesforceSecrets,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.conn = conn
        self.secrets = secrets
        self.policy = policy
        self.sleep = sleep
        self.transport = SalesforceTransport(
            reserve_share=conn.api_reserve_share, timeout=conn.timeout_seconds
        )
        self._sf: Salesforce | None = None
        self.refreshes = 0

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._login()
        assert self._sf is not None
        return self._sf

    def _login(self) -> None:
        def attempt() -> tuple[str, str]:
            try:
                return login(self.conn, self.secrets, self.transport)
            except (SalesforceError, SalesforceOperationError) as exc:
                raise translate(exc, "login", self.conn) from exc

        session_id, host = self._retry(attempt)
        self._sf = Salesforce(
            session_id=session_id,
            instance=host,
            session=self.transport,
            version=self.conn.api_version,
        )

    def _retry(self, fn: Callable[[], T]) -> T:
        for attempt in retrying(self.policy, sleep=self.sleep):
            with attempt:
                return fn()
        raise AssertionError("unreachable: tenacity reraises the last error")

    def call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """`fn(sf)` with retries on transient failures and one session refresh on 401."""
        return self._retry(lambda: self._once(what, fn))

    def _once(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        try:
            return fn(self.sf)
        except SalesforceExpiredSession as exc:
            if self.conn.kind == "session":
                raise AuthError(
                    f"the session token in {self.conn.session_token_env} has expired; "
                    "set a fresh one (kind: session cannot log in again)",
                    system="salesforce", operation=what, status=401, code="INVALID_SESSION_ID",
                ) from exc  # fmt: skip
            log.warning("Salesforce session expired during %s; logging in again", what)
            self.refreshes += 1
            self._sf = None
            try:
                return fn(self.sf)
            except SalesforceExpiredSession as again:
                raise AuthError(
                    "the session expired again right after a fresh login; check the "
                    "integration user's session settings",
                    system="salesforce", operation=what, status=401, code="INVALID_SESSION_ID",
                ) from again  # fmt: skip
            except (SalesforceError, SalesforceOperationError) as other:
                raise translate(other, what, self.conn) from other
        except ConnectorError:
            raise
        except (SalesforceError, SalesforceOperationError) as exc:
            raise translate(exc, what, self.conn) from exc
        except JSONDecodeError as exc:  # a 200 whose body is empty or not JSON
            raise FatalApiError(
                "the answer is not JSON (empty or another format); treat it as lost. Run "
                "again; if it persists, check a proxy between valuesync and Salesforce",
                system="salesforce", operation=what, code="BAD_RESPONSE_BODY",
            ) from exc  # fmt: skip

    def bulk2(self, sf: Salesforce, obj: str) -> _Bulk2Client:
        """A Bulk 2.0 client with the *current* session (simple-salesforce captures it once)."""
        headers = {
            "Content-Type": "application/json",
            "Authorization": "Bearer " + sf.session_id,
            "X-PrettyPrint": "1",
        }
        return _Bulk2Client(obj, sf.bulk2_url, headers, self.transport)

    def limits(self) -> dict[str, Any]:
        """`/limits` (one call), which also fills the transport's usage figures."""
        return self.call("limits", lambda sf: sf.limits())
