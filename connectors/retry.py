"""The retry policy every connector shares (tenacity).

Retries `RetryableError` only: 429, 5xx, connection drops, timeouts and row locks, which
each connector translates at its boundary. Exponential backoff with full jitter, capped
per wait; a `Retry-After` the server sent wins over the backoff (bounded by
`max_wait`); attempts and total time are bounded so a dead CRM ends the run instead
of stalling it. Every retry is logged at WARNING with the operation, never with values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from mappings.errors import RetryableError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the shared policy; tests shrink the waits."""

    attempts: int = 6
    total_seconds: float = 120.0
    base_wait: float = 0.5
    max_wait: float = 30.0


DEFAULT_POLICY = RetryPolicy()


class _WaitRetryAfter:
    """Wait what the server asked for (Retry-After), else exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.backoff = wait_random_exponential(multiplier=policy.base_wait, max=policy.max_wait)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None)
        if after is not None and after >= 0:
            return min(float(after), self.policy.max_wait)
        return float(self.backoff(state))


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0
    log.warning(
        "retrying %s after %s (attempt %d, waiting %.2fs)",
        getattr(state.fn, "__qualname__", "call"),
        exc,
        state.attempt_number,
        wait,
    )


def retrying(
    policy: RetryPolicy = DEFAULT_POLICY, sleep: Callable[[float], None] | None = None
) -> Retrying:
    """A tenacity `Retrying` configured with the shared policy."""
    kwargs: dict[str, Any] = {}
    if sleep is not None:
        kwargs["sleep"] = sleep
    return Retrying(
        retry=retry_if_exception_type(RetryableError),
        wait=_WaitRetryAfter(policy),
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.total_seconds),
        before_sleep=_log_retry,
        reraise=True,
        **kwargs,
    )
