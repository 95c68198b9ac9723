"""The org's daily API request limit, as Salesforce reports it on every response.

Every REST and Bulk 2.0 response carries `Sforce-Limit-Info: api-usage=USED/LIMIT`
(docs/crm-wire.md). `QuotaGuard` keeps the last figures and refuses a call that would take
the org below the reserve the admin configured (`api_reserve_share`, default 20 %): other
integrations share the limit, and a run must never be the one that exhausts it.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from mappings.errors import QuotaError

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


class QuotaGuard:
    """Mixed into the transport: the last reported usage and the reserve it protects."""

    calls: Counter[str]

    def __init__(self, reserve_share: float) -> None:
        self.used: int | None = None
        self.limit: int | None = None
        self.reserve_share = reserve_share

    def read_limit_info(self, header: str) -> None:
        """Take USED/LIMIT from a `Sforce-Limit-Info` header (absent: keep the last)."""
        m = _LIMIT_INFO.search(header)
        if m:
            self.used, self.limit = int(m.group(1)), int(m.group(2))

    @property
    def reserve(self) -> int | None:
        return None if self.limit is None else math.ceil(self.limit * self.reserve_share)

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None or self.used is None else self.limit - self.used

    def spent(self) -> int:
        """API calls made through this transport (logins do not count against the quota)."""
        return sum(n for k, n in self.calls.items() if k != "login")

    def require(self, needed: int, what: str) -> None:
        """QuotaError when `needed` more calls would take the org below the reserve."""
        remaining, reserve = self.remaining, self.reserve
        if remaining is None or reserve is None or remaining - needed >= reserve:
            return
        raise QuotaError(
            f"stopped before {what}: it needs about {needed} API call(s) and this run has made "
            f"{self.spent()}; the org has {remaining} of {self.limit} daily requests left and the "
            f"reserve is {reserve} ({self.reserve_share:.0%} of the limit). Run again after the "
            "24-hour window frees requests, or lower api_reserve_share in the connection config",
            system="salesforce",
            operation="quota",
            code="API_RESERVE",
        )
