"""Client-side rate limiting for one HubSpot portal.

HubSpot's limits belong to the portal, shared by every integration installed in it
(developers.hubspot.com/docs/api/usage-details), so valuesync paces itself:

- a rolling ten-second bucket for ordinary calls, narrowed by the
  `X-HubSpot-RateLimit-Max` / `-Remaining` headers when HubSpot sends them (others'
  calls show up there);
- a separate per-second bucket for search, which has its own stricter limit and whose
  responses carry no rate-limit headers;
- the daily bucket from `X-HubSpot-RateLimit-Daily` / `-Daily-Remaining` (private apps)
  or the configured daily limit (OAuth), with a reserve the run never eats into:
  a call that would leave less than `daily_reserve_share` of the day raises QuotaError.

One limiter per portal per process (`limiter_for`), so two connectors on the same
portal share it. Clock and sleep are injectable for tests.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from mappings.errors import QuotaError
from mappings.hubspot_connection import RateLimits

SEARCH = "search"
SLACK_SECONDS = 0.25
"""A call enters HubSpot's rolling window when it arrives, a little after it entered this
limiter's: a slot is reused this much later than the own window alone would allow, so
HubSpot's window has freed it too (without it, a paced pull still met 429s)."""


Headers = Mapping[str, str] | Iterable[tuple[str, str]] | None


def header(headers: Headers, name: str) -> str | None:
    """One response header, case-insensitive (urllib3 gives a mapping, some stubs a list)."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in pairs:
        if str(key).lower() == name.lower():
            return str(value)
    return None


def _header(headers: Headers, name: str) -> int | None:
    value = header(headers, name)
    try:
        return None if value is None else int(float(value))
    except ValueError:
        return None


@dataclass
class _Hint:
    """What the last response said about the shared ten-second bucket."""

    at: float
    remaining: int
    calls_at: int
    others: int
    """Calls in the bucket that are not this limiter's own (other apps, processes)."""


class PortalLimiter:
    """Paces calls to one portal; `acquire` before a call, `observe` its response headers."""

    def __init__(
        self,
        settings: RateLimits,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.capacity = settings.ten_second_limit
        self.interval = settings.interval_seconds
        self.daily_limit = settings.daily_limit
        self.daily_remaining: int | None = None
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.slept = 0.0
        self._window: deque[float] = deque()
        self._search: deque[float] = deque()
        self._hint: _Hint | None = None
        self._total = 0
        self._windowed = 0
        self._lock = threading.RLock()

    # -- before a call -------------------------------------------------------------
    def acquire(self, kind: str, operation: str) -> None:
        """Wait until a call of `kind` fits every bucket; QuotaError if the reserve would go."""
        with self._lock:
            self._check_daily(operation)
            while True:
                wait = self._wait_needed(kind)
                if wait <= 0:
                    break
                self.slept += wait
                self.sleep(wait)
            now = self.clock()
            if kind == SEARCH:  # search has its own bucket, not the ten-second one
                self._search.append(now)
            else:
                self._window.append(now)
                self._windowed += 1
            self._total += 1
            self.calls[kind] += 1
            if self.daily_remaining is not None:
                self.daily_remaining -= 1

    def _wait_needed(self, kind: str) -> float:
        now = self.clock()
        while self._window and self._window[0] <= now - self.interval - SLACK_SECONDS:
            self._window.popleft()
        waits = [0.0]
        if kind != SEARCH and len(self._window) >= self.capacity:
            waits.append(self._window[0] + self.interval + SLACK_SECONDS - now)
        hint = self._hint
        if (
            hint is not None
            and hint.others > 0  # else the own rolling window above is exact, and frees sooner
            and now < hint.at + self.interval
            and kind != SEARCH
            and hint.remaining - (self._windowed - hint.calls_at) <= 0
        ):
            waits.append(hint.at + self.interval - now)
        if kind == SEARCH:
            while self._search and self._search[0] <= now - 1.0:
                self._search.popleft()
            per_second = max(1, int(self.settings.search_per_second))
            if len(self._search) >= per_second:
                waits.append(self._search[0] + 1.0 - now)
        return max(waits)

    def _check_daily(self, operation: str) -> None:
        if self.daily_limit is None:
            return
        remaining = (
            self.daily_remaining
            if self.daily_remaining is not None
            else self.daily_limit - self._total
        )
        reserve = self.settings.daily_reserve_share * self.daily_limit
        if remaining - 1 < reserve:
            raise QuotaError(
                f"stopped before the call: {remaining} of {self.daily_limit} daily API calls "
                f"remain and {int(reserve)} are reserved for the portal's other integrations; "
                "run again after the daily reset or lower rate_limits.daily_reserve_share",
                system="hubspot",
                operation=operation,
                code="DAILY_RESERVE",
            )

    # -- after a call --------------------------------------------------------------
    def observe(self, kind: str, headers: Headers) -> None:
        """Learn from X-HubSpot-RateLimit-* headers (absent on search and some errors)."""
        with self._lock:
            daily = _header(headers, "X-HubSpot-RateLimit-Daily")
            daily_left = _header(headers, "X-HubSpot-RateLimit-Daily-Remaining")
            if daily:
                self.daily_limit = (
                    daily
                    if self.settings.daily_limit is None
                    else min(daily, self.daily_limit or daily)
                )
            if daily_left is not None:
                self.daily_remaining = daily_left
            interval_ms = _header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
            if interval_ms:
                self.interval = max(self.interval, interval_ms / 1000.0)
            most = _header(headers, "X-HubSpot-RateLimit-Max")
            if most:
                self.capacity = min(self.settings.ten_second_limit, most)
            left = _header(headers, "X-HubSpot-RateLimit-Remaining")
            if left is not None and kind != SEARCH:
                now = self.clock()
                # with the slack, the own window holds every own call HubSpot may still count
                while self._window and self._window[0] <= now - self.interval - SLACK_SECONDS:
                    self._window.popleft()
                others = self.capacity - left - len(self._window)
                self._hint = _Hint(now, left, self._windowed, others)

    def throttle(self, kind: str, policy: str | None, retry_after: float | None) -> float:
        """Record a 429 and return how long to wait: Retry-After, else the policy's window."""
        with self._lock:
            self.throttled[kind] += 1
            if retry_after is not None:
                return retry_after
            if kind == SEARCH or policy == "SECONDLY":
                return 1.0
            self._hint = _Hint(self.clock(), 0, self._windowed, self.capacity)
            return self.interval

    def snapshot(self) -> dict[str, int]:
        """Calls made by kind and 429s received, for run figures and logs."""
        with self._lock:
            out = {f"calls.{k}": v for k, v in sorted(self.calls.items())}
            out["calls.total"] = self._total
            out["throttled.429"] = sum(self.throttled.values())
            return out


_REGISTRY: dict[str, PortalLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def portal_key(base_url: str, token: str) -> str:
    """Identify a portal by endpoint and token digest (the token itself is never kept)."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return f"{base_url.rstrip('/')}#{digest}"


def limiter_for(key: str, settings: RateLimits) -> PortalLimiter:
    """The process-wide limiter of one portal, created on first use."""
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get(key)
        if limiter is None or limiter.settings != settings:
            limiter = PortalLimiter(settings)
            _REGISTRY[key] = limiter
        return limiter
