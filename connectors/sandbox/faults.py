"""Fault injection for the sandbox: the failures a real CRM API produces, on demand.

Two ways to inject:
- rates in a `FaultProfile` (seeded, for soak-like runs and `sandbox serve --faults`);
- an explicit queue (`FaultController.inject`) for tests that need an exact sequence,
  e.g. "the next 3 requests to /query answer 429 with Retry-After: 1".

Faults that depend on the API's semantics (expired sessions, row locks, validation-rule
rejections, rate-limit buckets) are read from the same controller by each side's
routes; the generic HTTP faults (429, 500/503, dropped connections, slow responses)
are applied here by an ASGI middleware before a request reaches a route.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from connectors.sandbox import PROFILE_NAMES

FaultKind = Literal[
    "429", "500", "503", "drop", "slow", "expire_session",
    # answers rewritten on their way out (connectors/sandbox/answers.py)
    "empty_200", "non_json_200", "no_locator", "bad_locator", "no_record_count",
    "fewer_results", "more_results", "other_ids",
]  # fmt: skip
GENERIC: tuple[str, ...] = ("429", "500", "503", "drop", "slow")


@dataclass(frozen=True)
class FaultProfile:
    """Fault rates and API limits for one sandbox server."""

    seed: int = 0
    http_429_rate: float = 0.0
    http_5xx_rate: float = 0.0
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.3
    retry_after_s: int = 1
    lock_row_share: float = 0.0
    """Share of records in a Salesforce write answered UNABLE_TO_LOCK_ROW (once per record)."""
    reject_ids: frozenset[str] = frozenset()
    """Records a validation rule rejects on every write (FIELD_CUSTOM_VALIDATION_EXCEPTION)."""
    expire_session_every: int = 0
    """Every Nth authenticated Salesforce call finds its session expired (one-shot)."""
    sf_daily_limit: int = 5_000_000
    hs_ten_second_limit: int = 0
    """HubSpot requests per rolling 10 s (0 = not enforced; HubSpot Pro is 190)."""
    hs_daily_limit: int = 1_000_000
    hs_search_per_second: int = 0
    """HubSpot search requests per second (0 = not enforced; HubSpot allows 5)."""
    hs_daily_imports: int = 500
    """CRM imports started per rolling 24 h (HubSpot: 500 on paid tiers, 50 on free
    tools; 0 = not enforced)."""
    hs_import_seconds: float = 0.0
    """An import stays PROCESSING this long before its rows apply (HubSpot takes minutes;
    tests use it to find an import still running when the next run starts)."""
    hs_strict_spec: bool = False
    """Answer 400 to a HubSpot request whose boolean query parameter is not `true` or
    `false` (HubSpot's published OpenAPI spec; hubspot-api-client sends `False`)."""


PROFILES: dict[str, FaultProfile] = {
    "none": FaultProfile(),
    "flaky": FaultProfile(
        http_429_rate=0.03, http_5xx_rate=0.02, drop_rate=0.01, slow_rate=0.02, lock_row_share=0.05
    ),
    "limits": FaultProfile(hs_ten_second_limit=190, hs_search_per_second=5, sf_daily_limit=15_000),
    "hostile": FaultProfile(
        http_429_rate=0.08,
        http_5xx_rate=0.05,
        drop_rate=0.03,
        slow_rate=0.05,
        lock_row_share=0.10,
        expire_session_every=50,
        hs_ten_second_limit=190,
        hs_search_per_second=5,
    ),
}
if tuple(PROFILES) != PROFILE_NAMES:
    raise RuntimeError("connectors.sandbox.PROFILE_NAMES must list the keys of PROFILES")


@dataclass
class _Queued:
    kind: FaultKind
    path: re.Pattern[str]
    remaining: int


@dataclass
class FaultController:
    """The live fault state of one server; tests reach it through `SandboxServer.faults`."""

    profile: FaultProfile = field(default_factory=FaultProfile)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.profile.seed)
        self._queue: deque[_Queued] = deque()
        self.injected: Counter[str] = Counter()
        self.authenticated_calls = 0
        self.locked_once: set[str] = set()
        self.observers: list[Callable[[str, str], None]] = []
        """Called with (method, path) for every request before it is handled; tests use it
        to act at an exact point of a client's work (e.g. kill a run at the Nth write)."""

    def configure(self, **changes: Any) -> None:
        """Change profile fields at run time, e.g. `configure(lock_row_share=0.1)`."""
        with self._lock:
            self.profile = replace(self.profile, **changes)
            if "seed" in changes:
                self._rng = random.Random(self.profile.seed)

    def inject(self, kind: FaultKind, times: int = 1, path: str = ".*") -> None:
        """Make the next `times` requests whose path matches `path` fail with `kind`."""
        with self._lock:
            self._queue.append(_Queued(kind, re.compile(path), times))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def next_fault(
        self, path: str, kinds: tuple[str, ...] = GENERIC, *, use_rates: bool = True
    ) -> FaultKind | None:
        """The fault this request gets, if any: queued ones first, then the profile's rates."""
        with self._lock:
            for q in self._queue:
                if q.kind in kinds and q.path.search(path):
                    q.remaining -= 1
                    if q.remaining <= 0:
                        self._queue.remove(q)
                    self.injected[q.kind] += 1
                    return q.kind
            if not use_rates:
                return None
            p = self.profile
            r = self._rng.random()
            for kind, rate in (
                ("429", p.http_429_rate),
                ("503", p.http_5xx_rate / 2),
                ("500", p.http_5xx_rate / 2),
                ("drop", p.drop_rate),
                ("slow", p.slow_rate),
            ):
                if r < rate:
                    self.injected[kind] += 1
                    return kind  # type: ignore[return-value]
                r -= rate
            return None

    def take_expire_session(self, path: str) -> bool:
        """True when this Salesforce call should find its session expired (queued or every Nth)."""
        if self.next_fault(path, ("expire_session",), use_rates=False):
            return True
        n = self.profile.expire_session_every
        with self._lock:
            self.authenticated_calls += 1
            if n and self.authenticated_calls % n == 0:
                self.injected["expire_session"] += 1
                return True
        return False

    def should_lock(self, record_id: str) -> bool:
        """UNABLE_TO_LOCK_ROW for a seeded share of records, once per record (a retry succeeds)."""
        share = self.profile.lock_row_share
        if share <= 0 or record_id in self.locked_once:
            return False
        with self._lock:
            if self._rng.random() < share:
                self.locked_once.add(record_id)
                self.injected["lock_row"] += 1
                return True
        return False


def _system(path: str) -> str:
    return "hubspot" if path.startswith("/crm/") else "salesforce"


def error_body(path: str, status: int, retry_after: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The body and headers each API answers with for a 429 / 5xx."""
    headers = [(b"content-type", b"application/json")]
    if status == 429:
        headers.append((b"retry-after", str(retry_after).encode()))
    if _system(path) == "hubspot":
        if status == 429:
            body: Any = {
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": "00000000-0000-4000-8000-000000000429",
                "policyName": "TEN_SECONDLY_ROLLING",
                "requestId": "sandbox",
            }
        else:
            body = {
                "status": "error",
                "message": "internal error" if status == 500 else "Service Unavailable",
                "correlationId": f"00000000-0000-4000-8000-000000000{status}",
                "category": "INTERNAL_ERROR",
            }
    elif status == 429:
        body = [
            {"message": "Too many requests, retry later", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
    else:
        body = [
            {
                "message": "An unexpected error occurred. Please try again.",
                "errorCode": "UNKNOWN_EXCEPTION",
            }
        ]
    return json.dumps(body).encode(), headers


class FaultMiddleware:
    """ASGI middleware applying the generic HTTP faults before any route runs."""

    def __init__(self, app: Any, controller: FaultController) -> None:
        self.app = app
        self.controller = controller

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        for observe in list(self.controller.observers):
            observe(scope["method"], path)
        kind = self.controller.next_fault(path)
        if kind == "slow":
            await asyncio.sleep(self.controller.profile.slow_seconds)
        elif kind == "drop":
            _abort_connection(receive)
            return
        elif kind in ("429", "500", "503"):
            status = int(kind)
            body, headers = error_body(path, status, self.controller.profile.retry_after_s)
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _abort_connection(receive: Any) -> None:
    """Close the TCP connection without an answer, as a dropped connection does.

    uvicorn's `receive` is a bound method of its request cycle, which holds the transport;
    aborting it resets the socket so the client sees a connection error.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("sandbox: dropped connection (fault injection)")
    transport.abort()
