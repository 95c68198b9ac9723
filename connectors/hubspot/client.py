"""The one seam between valuesync and hubspot-api-client.

Every call goes through `HubSpotApi.call`: the portal limiter first, then the
client's `*_with_http_info` method (so status and headers are seen), then translation
of whatever came back into the valuesync error tree, all under the shared tenacity
policy. Two client quirks are handled here and nowhere else:

- every API package has its own ApiException class with no common base but
  `Exception` (docs/crm-wire.md §B2), so errors are recognised by `.status`;
- the client returns None for a 2xx status its operation does not list (§B3); that
  becomes a FatalApiError naming the call instead of passing silently.

urllib3 gets `retries=False`, so the client never retries behind our back: the
shared policy decides, and every attempt is counted and paced.

Bulk reads (list pages, search pages, association batch reads) use `call_json`: the
same client method with `_preload_content=False`, which hands back the urllib3
response, whose JSON body is parsed here. The client's own deserialisation builds a
model object per record and parses createdAt/updatedAt with dateutil, about 3,000
records/s, which would make a 1.5M-record full pull take ten minutes on its own.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson
import urllib3

from connectors.hubspot.limits import Headers, PortalLimiter, header
from connectors.retry import DEFAULT_POLICY, RetryPolicy, retrying
from mappings.errors import (
    AuthError,
    ConnectorError,
    FatalApiError,
    PropertyError,
    QuotaError,
    RetryableError,
    ValidationRejected,
)

log = logging.getLogger(__name__)
SYSTEM = "hubspot"
_TRANSIENT = (
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,
    socket.timeout,
    TimeoutError,
)


def parse_body(body: Any) -> dict[str, Any]:
    """The JSON error body of an ApiException, or {} when it is not JSON."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def property_errors(message: str) -> list[PropertyError]:
    """Per-property errors from 'Property values were not valid: [ {...}, ... ]'."""
    start = message.find("[")
    if start < 0:
        return []
    try:
        items = json.loads(message[start:])
    except ValueError:
        return []
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("name"):
            out.append(
                PropertyError(
                    str(item["name"]), str(item.get("error", "")), str(item.get("message", ""))
                )
            )
    return out


def _raw_call(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float
) -> tuple[bytes, int, Headers]:
    """(body bytes, status, headers) of a client method called with `_preload_content=False`.

    The generated client then returns the urllib3 response itself (not a tuple) and
    still raises its ApiException for a non-2xx status.
    """
    response = fn(*args, _request_timeout=timeout, _preload_content=False, **kwargs)
    try:
        return response.data, int(response.status), response.headers
    finally:
        response.release_conn()


def _json_object(body: bytes, operation: str, status: int) -> dict[str, Any] | None:
    """The JSON object of a response body; None for an empty body (the None-check follows)."""
    if not body or not body.strip():
        return None
    try:
        data = orjson.loads(body)  # 2x json's speed: bulk reads parse ~1 GB of answers
    except ValueError as exc:
        raise FatalApiError(
            "the answer is not JSON; treat the response as lost",
            system=SYSTEM,
            operation=operation,
            status=status,
            code="BAD_RESPONSE_BODY",
        ) from exc
    if not isinstance(data, dict):
        raise FatalApiError(
            f"expected a JSON object, got {type(data).__name__}",
            system=SYSTEM,
            operation=operation,
            status=status,
            code="BAD_RESPONSE_BODY",
        )
    return data


def _retry_after(headers: Headers) -> float | None:
    value = header(headers, "Retry-After")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


class ResolvedOnce:
    """hubspot-api-client's discovery tree, each attribute resolved once.

    `client.crm.objects.basic_api` builds a new Configuration, ApiClient and urllib3
    pool on every access (hubspot/discovery/discovery_base.py), so a call written that
    way opens a new TCP (and TLS) connection each time. This proxy keeps what each
    attribute path resolved to; bound methods pass through.
    """

    def __init__(self, target: Any) -> None:
        self._target = target
        self._resolved: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._resolved:
            return self._resolved[name]
        value = getattr(self._target, name)
        if callable(value) and not isinstance(value, type) and hasattr(value, "__self__"):
            return value  # a bound method: nothing to keep
        wrapped = ResolvedOnce(value) if hasattr(value, "__dict__") else value
        self._resolved[name] = wrapped
        return wrapped


class HubSpotApi:
    """Paced, retried, translated calls to one portal through hubspot-api-client."""

    def __init__(
        self,
        client: Any,
        limiter: PortalLimiter,
        *,
        timeout: float = 30.0,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.client = ResolvedOnce(client)
        self.limiter = limiter
        self.timeout = timeout
        self.policy = policy
        self.calls: Counter[str] = Counter()
        """Attempts made through this connector, by kind (read, search, write, ...)."""
        self.throttled = 0
        self._count_lock = threading.Lock()
        """Objects are pulled from several threads at once (HubSpotConnector.pull_streams)."""
        self._local = threading.local()

    def add_calls(self, calls: Mapping[str, int]) -> None:
        """Add calls counted elsewhere (`throttled_429` to the 429s), as `calls` reports them."""
        with self._count_lock:
            for kind, n in calls.items():
                if kind == "throttled_429":
                    self.throttled += n
                else:
                    self.calls[kind] += n

    @contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        """The calls this thread makes inside the block, by kind (attempts, as `calls`):
        what one push cost while others run in other threads."""
        mine: Counter[str] = Counter()
        outer = getattr(self._local, "counter", None)
        self._local.counter = mine
        try:
            yield mine
        finally:
            self._local.counter = outer

    def call(
        self,
        kind: str,
        operation: str,
        fn: Callable[..., Any],
        *args: Any,
        expect: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> Any:
        """Call a `*_with_http_info` client method; return its data for an expected status."""
        for attempt in retrying(self.policy, sleep=self.limiter.sleep):
            with attempt:
                return self._once(kind, operation, fn, args, kwargs, expect)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def call_json(
        self,
        kind: str,
        operation: str,
        fn: Callable[..., Any],
        *args: Any,
        expect: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Call a `*_with_http_info` client method for its raw answer; return the JSON body.

        Same pacing, retries, status check and error translation as `call`; only the
        parsing differs (plain dicts and strings instead of the client's models).
        """
        for attempt in retrying(self.policy, sleep=self.limiter.sleep):
            with attempt:
                body = self._once(kind, operation, fn, args, kwargs, expect, raw=True)
                return body  # type: ignore[no-any-return]
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _once(
        self,
        kind: str,
        operation: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        expect: tuple[int, ...],
        raw: bool = False,
    ) -> Any:
        self.limiter.acquire(kind, operation)
        with self._count_lock:
            self.calls[kind] += 1
        mine = getattr(self._local, "counter", None)
        if mine is not None:
            mine[kind] += 1
        try:
            if raw:
                data, status, headers = _raw_call(fn, args, kwargs, self.timeout)
            else:
                data, status, headers = fn(*args, _request_timeout=self.timeout, **kwargs)
        except Exception as exc:  # each API package has its own ApiException (§B2)
            raise self._translate(kind, operation, exc) from exc
        self.limiter.observe(kind, headers)
        result: Any = data
        if raw and status in expect:
            result = _json_object(data, operation, status)
        if status not in expect:
            raise FatalApiError(
                f"unexpected HTTP {status}; hubspot-api-client expects {'/'.join(map(str, expect))}"
                " here and would have returned None",
                system=SYSTEM,
                operation=operation,
                status=status,
                code="UNEXPECTED_STATUS",
            )
        if result is None and status != 204:
            raise FatalApiError(
                "the answer's body is empty; treat the response as lost and run again"
                if raw
                else "hubspot-api-client returned None (the status is not one the client "
                "maps to a response type); treat the response as lost",
                system=SYSTEM,
                operation=operation,
                status=status,
                code="NO_RESPONSE_BODY",
            )
        return result

    def _translate(self, kind: str, operation: str, exc: Exception) -> Exception:
        if isinstance(exc, ConnectorError):
            return exc
        status = getattr(exc, "status", None)
        if status is None or status == 0:
            if isinstance(exc, _TRANSIENT) or "timed out" in str(exc).lower():
                return RetryableError(
                    f"connection failed ({type(exc).__name__})", system=SYSTEM, operation=operation
                )
            return FatalApiError(
                "request failed before an answer "
                f"({type(exc).__name__}: {getattr(exc, 'reason', exc)})",
                system=SYSTEM,
                operation=operation,
            )
        headers = getattr(exc, "headers", None)
        self.limiter.observe(kind, headers)
        body = parse_body(getattr(exc, "body", None))
        category = str(body.get("category") or body.get("errorType") or "")
        message = str(body.get("message") or getattr(exc, "reason", "") or "no message")
        kw: dict[str, Any] = {"system": SYSTEM, "operation": operation, "status": status}
        if status == 429:
            return self._rate_limited(kind, body, headers, kw)
        if status >= 500 or status in (408, 423):
            return RetryableError(
                f"HubSpot answered {status}: {message}", code=category or None, **kw
            )
        if status == 401:
            return AuthError(
                "the access token was refused; check the token in the configured environment "
                "variable",
                code=category or "INVALID_AUTHENTICATION",
                **kw,
            )
        if status == 400 and category == "VALIDATION_ERROR":
            return ValidationRejected(message, errors=property_errors(message), code=category, **kw)
        return FatalApiError(message, code=category or None, **kw)

    def _rate_limited(
        self,
        kind: str,
        body: dict[str, Any],
        headers: Headers,
        kw: dict[str, Any],
    ) -> Exception:
        with self._count_lock:
            self.throttled += 1
        policy = body.get("policyName")
        if policy == "DAILY":
            return QuotaError(
                "the portal's daily API limit is used up; run again after the daily reset",
                code="RATE_LIMIT_DAILY",
                **kw,
            )
        if policy == "DAILY_IMPORTS":  # imports started per 24 h, not API calls (§B13)
            return QuotaError(
                "the portal's daily import limit is used up",
                code="IMPORT_LIMIT_DAILY",
                **kw,
            )
        wait = self.limiter.throttle(kind, policy, _retry_after(headers))
        log.warning("HubSpot 429 (%s) on %s; waiting %.1fs", policy, kw["operation"], wait)
        return RetryableError(
            f"rate limited ({policy or 'unknown policy'})",
            retry_after=wait,
            code="RATE_LIMIT",
            **kw,
        )
