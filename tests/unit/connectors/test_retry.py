"""The shared retry policy: what it retries, how long it waits, when it gives up."""

from __future__ import annotations

import pytest

from connectors.retry import RetryPolicy, retrying
from mappings.errors import FatalApiError, RetryableError

FAST = RetryPolicy(attempts=4, base_wait=0.01, max_wait=0.05)


def run(fn, policy=FAST):
    waits: list[float] = []
    for attempt in retrying(policy, sleep=waits.append):
        with attempt:
            return fn(), waits
    raise AssertionError


def flaky(failures: list[Exception]):
    def fn():
        if failures:
            raise failures.pop(0)
        return "ok"

    return fn


def test_retryable_errors_are_retried_until_success():
    result, waits = run(flaky([RetryableError("429"), RetryableError("503")]))
    assert result == "ok"
    assert len(waits) == 2
    assert all(0 <= w <= 0.05 for w in waits)


def test_retry_after_wins_over_backoff_and_is_capped():
    _, waits = run(
        flaky([RetryableError("429", retry_after=0.04), RetryableError("x", retry_after=9)])
    )
    assert waits == [0.04, 0.05]


def test_fatal_errors_are_not_retried():
    calls = []

    def fn():
        calls.append(1)
        raise FatalApiError("INVALID_FIELD")

    with pytest.raises(FatalApiError):
        run(fn)
    assert calls == [1]


def test_attempts_are_bounded_and_the_last_error_is_raised():
    errors = [RetryableError(f"fail {i}") for i in range(10)]
    with pytest.raises(RetryableError, match="fail 3"):
        run(flaky(errors))
    assert len(errors) == 6
