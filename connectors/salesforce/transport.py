"""The HTTP seam under simple-salesforce: URL mapping, call counting, login; the quota
guard (limits.py) is mixed in.

simple-salesforce builds every URL as `https://{host}/...` and logs in at
`https://{domain}.salesforce.com` (docs/crm-wire.md §0.1). `SalesforceTransport` is
the `requests.Session` it is given: it sends those URLs to the login URL and instance
URL the admin configured (so `http://127.0.0.1:PORT` works for any Salesforce-compatible
emulator, with nothing emulator-specific here), counts every call by kind, reads
`Sforce-Limit-Info` from every response (Bulk 2.0 calls included, which
simple-salesforce does not parse), refuses a call that would eat into the API reserve,
and turns transient HTTP failures (429, 5xx, dropped connections, timeouts) into
`RetryableError` while the response headers (Retry-After) are still at hand.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlparse

import requests
from simple_salesforce.login import SalesforceLogin

from connectors.salesforce.limits import QuotaGuard
from mappings.errors import RetryableError
from mappings.salesforce_connection import SalesforceConnection, SalesforceSecrets

log = logging.getLogger(__name__)

CALL_KINDS = (
    "query", "query_more", "count", "bulk_query", "bulk_ingest", "collections",
    "describe", "tooling", "limits", "rest", "login",
)  # fmt: skip
_ORIGIN = re.compile(r"^https://[^/]+")


def classify(method: str, url: str) -> str:
    """The kind of API call a URL is (see CALL_KINDS)."""
    path = urlparse(url).path
    if "/services/oauth2/token" in path or "/services/Soap/u/" in path:
        return "login"
    if "/tooling/" in path:
        return "tooling"
    if "/jobs/query" in path:
        return "bulk_query"
    if "/jobs/ingest" in path:
        return "bulk_ingest"
    if path.rstrip("/").endswith("/composite/sobjects"):
        return "collections"
    if path.rstrip("/").endswith("/describe"):
        return "describe"
    if path.rstrip("/").endswith("/limits"):
        return "limits"
    m = re.search(r"/(query|queryAll)(/[^/]*)?/?$", path)
    if m:
        return "query_more" if m.group(2) and m.group(2) != "/" else "query"
    return "rest"


class SalesforceTransport(requests.Session, QuotaGuard):
    """The session simple-salesforce uses: maps URLs, counts calls, guards the quota."""

    def __init__(self, *, reserve_share: float = 0.2, timeout: float = 120.0) -> None:
        super().__init__()
        self.routes: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        QuotaGuard.__init__(self, reserve_share)
        self.timeout = timeout
        self._hint: str | None = None
        self.server_time: datetime | None = None
        """The `Date` of the org's last response (second resolution), for cursors."""

    # --- URL mapping ----------------------------------------------------------------
    def add_route(self, https_origin: str, target: str) -> None:
        """Send `https://host[:port]/...` to `target` (scheme://host[:port]) instead."""
        self.routes[https_origin.rstrip("/").lower()] = target.rstrip("/")

    def map_url(self, url: str) -> str:
        m = _ORIGIN.match(url)
        if m and m.group(0).lower() in self.routes:
            return self.routes[m.group(0).lower()] + url[m.end() :]
        return url

    @contextmanager
    def calling(self, kind: str) -> Iterator[None]:
        """Label the queries inside as `kind` (e.g. count) for the call counter."""
        previous, self._hint = self._hint, kind
        try:
            yield
        finally:
            self._hint = previous

    # --- the request itself -----------------------------------------------------------
    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        method_s = method.decode() if isinstance(method, bytes) else method
        url_s = url.decode() if isinstance(url, bytes) else url
        kind = classify(method_s, url_s)
        if self._hint and kind == "query":
            kind = self._hint
        if kind != "login":
            self.require(1, f"{kind} call")
        self.calls[kind] += 1
        kwargs.setdefault("timeout", self.timeout)
        target = self.map_url(url_s)
        try:
            response = super().request(method_s, target, *args, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetryableError(
                f"cannot reach {urlparse(target).netloc} ({type(exc).__name__}); check "
                "instance_url / login_url (or domain) of the connection in valuesync.yaml, "
                "and that the network lets you through",
                system="salesforce",
                operation=kind,
            ) from exc
        self.read_limit_info(response.headers.get("Sforce-Limit-Info", ""))
        self._read_date(response)
        self._raise_transient(kind, response)
        return response

    def _read_date(self, response: requests.Response) -> None:
        try:
            stamp = parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError):
            return
        if stamp.tzinfo is not None:
            self.server_time = stamp.astimezone(UTC)

    @staticmethod
    def _raise_transient(kind: str, response: requests.Response) -> None:
        status = response.status_code
        if status != 429 and status < 500:
            return
        # A refused SOAP login is HTTP 500 with a fault body: not transient.
        if kind == "login" and b"exceptionCode" in response.content:
            return
        after = response.headers.get("Retry-After")
        try:
            retry_after = float(after) if after else None
        except ValueError:
            retry_after = None
        raise RetryableError(
            "rate limited" if status == 429 else "server error",
            retry_after=retry_after,
            system="salesforce",
            operation=kind,
            status=status,
            code=_error_code(response),
        )


def _error_code(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0].get("errorCode")
    return None


def configure_login_route(conn: SalesforceConnection, transport: SalesforceTransport) -> None:
    """Map `https://{domain}.salesforce.com` (what simple-salesforce builds) to login_url."""
    transport.add_route(f"https://{conn.domain}.salesforce.com", conn.effective_login_url)


def configure_instance_route(
    conn: SalesforceConnection, transport: SalesforceTransport, host: str
) -> None:
    """Map `https://{host}` to instance_url; or to login_url when login named that same host."""
    if conn.instance_url:
        transport.add_route(f"https://{host}", conn.instance_url)
    elif urlparse(conn.effective_login_url).netloc.lower() == host.lower():
        transport.add_route(f"https://{host}", conn.effective_login_url)


def instance_host(url: str) -> str:
    """`host[:port]` of a URL, the form simple-salesforce calls `sf_instance`."""
    return urlparse(url).netloc


def login(
    conn: SalesforceConnection, secrets: SalesforceSecrets, transport: SalesforceTransport
) -> tuple[str, str]:
    """Log in as `conn.kind` says: (session id, instance host); raises simple-salesforce errors."""
    if conn.kind == "session":
        assert secrets.session_token is not None and conn.instance_url is not None
        host = instance_host(conn.instance_url)
        configure_instance_route(conn, transport, host)
        return secrets.session_token.get_secret_value(), host
    configure_login_route(conn, transport)
    kw: dict[str, Any] = {"session": transport, "domain": conn.domain}

    def secret(name: str) -> str | None:
        value = getattr(secrets, name)
        return None if value is None else value.get_secret_value()

    if conn.kind == "password":
        password = (secret("password") or "") + (secret("security_token") or "")
        kw |= {"username": secret("username"), "password": password}
        kw |= {"consumer_key": secret("consumer_key"), "consumer_secret": secret("consumer_secret")}
    elif conn.kind == "client_credentials":
        kw |= {"consumer_key": secret("consumer_key"), "consumer_secret": secret("consumer_secret")}
    else:  # jwt
        kw |= {"username": secret("username"), "consumer_key": secret("consumer_key")}
        kw["privatekey"] = secret("private_key")
    session_id, host = SalesforceLogin(sf_version=conn.api_version, **kw)
    configure_instance_route(conn, transport, host)
    log.info("logged in to Salesforce (%s) at %s", conn.kind, host)
    return session_id, host
