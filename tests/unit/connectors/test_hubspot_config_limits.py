"""HubSpot connection config and the per-portal limiter (fake clock, no network)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.hubspot.limits import SEARCH, PortalLimiter
from mappings.errors import ConfigError, QuotaError
from mappings.hubspot_connection import HubSpotConnection, RateLimits, load_hubspot_connection


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def limiter(**settings) -> tuple[PortalLimiter, FakeClock]:
    clock = FakeClock()
    return PortalLimiter(RateLimits(**settings), clock=clock, sleep=clock.sleep), clock


# --- connection config -----------------------------------------------------------------
def test_token_is_read_from_the_named_variable_as_a_secret():
    conn = HubSpotConnection.model_validate(
        {"auth": {"kind": "private_app", "token_env": "HS_TOK"}}
    )
    token = conn.token({"HS_TOK": "pat-na1-secret"})
    assert token.get_secret_value() == "pat-na1-secret"
    assert "pat-na1-secret" not in repr(token) and "pat-na1-secret" not in repr(conn)


def test_a_missing_token_names_the_variable():
    conn = HubSpotConnection.model_validate({"auth": {"kind": "oauth"}})
    with pytest.raises(ConfigError, match="HUBSPOT_OAUTH_TOKEN is not set"):
        conn.token({})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"auth": {"kind": "private_app", "token_env": "pat-na1-0123"}}, "not hold a token"),
        ({"auth": {"kind": "basic"}}, "private_app"),
        ({"base_url": "api.hubapi.com"}, r"http\(s\) URL"),
        ({"rate_limits": {"daily_reserve_share": 1.5}}, "less than 1"),
        ({"rate_limit": {}}, "Extra inputs"),
    ],
    ids=["token-in-yaml", "unknown-auth-kind", "url-without-scheme", "reserve-over-1", "typo"],
)
def test_bad_connection_config_is_refused(data, expected):
    with pytest.raises(ValidationError, match=expected):
        HubSpotConnection.model_validate(data)


def test_loading_a_file_reports_file_and_key(tmp_path):
    path = tmp_path / "hubspot_connection.yaml"
    path.write_text("auth:\n  kind: private_app\n  tokn_env: X\nbase_url: http://127.0.0.1:9\n")
    with pytest.raises(ConfigError, match=r"hubspot_connection.yaml:3 at 'auth.tokn_env'"):
        load_hubspot_connection(path)


def test_defaults_match_hubspot():
    conn = HubSpotConnection()
    assert conn.base_url == "https://api.hubapi.com" and conn.auth.kind == "private_app"
    assert conn.rate_limits.daily_reserve_share == 0.2


# --- limiter ----------------------------------------------------------------------------
def test_the_ten_second_bucket_waits_for_the_oldest_call_to_expire():
    lim, clock = limiter(ten_second_limit=3)
    for _ in range(3):
        lim.acquire("read", "op")
    assert clock.sleeps == []
    lim.acquire("read", "op")
    assert clock.sleeps == [10.25]  # the interval and the slack for HubSpot's own clock


def test_headers_narrow_the_bucket_and_report_others_usage():
    lim, clock = limiter(ten_second_limit=100)
    lim.acquire("read", "op")
    lim.observe("read", {"X-HubSpot-RateLimit-Max": "50", "X-HubSpot-RateLimit-Remaining": "0"})
    assert lim.capacity == 50
    lim.acquire("read", "op")  # others used the bucket up: wait out the interval
    assert clock.sleeps == [10.0]


def test_search_has_its_own_per_second_bucket():
    lim, clock = limiter(ten_second_limit=1, search_per_second=2)
    lim.acquire("read", "op")
    for _ in range(2):
        lim.acquire(SEARCH, "op")
    assert clock.sleeps == []  # search does not spend the ten-second bucket
    lim.acquire(SEARCH, "op")
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize(
    ("daily", "remaining", "stops"),
    [(1000, 201, False), (1000, 200, True), (1000, 5, True)],
    ids=["above-reserve", "would-touch-reserve", "deep-in-reserve"],
)
def test_the_daily_reserve_stops_before_the_call(daily, remaining, stops):
    lim, _ = limiter()
    lim.observe(
        "read",
        {
            "X-HubSpot-RateLimit-Daily": str(daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(remaining),
        },
    )
    if stops:
        with pytest.raises(QuotaError, match="reserved"):
            lim.acquire("read", "list companies")
    else:
        lim.acquire("read", "list companies")


def test_configured_daily_limit_applies_without_headers():
    lim, _ = limiter(daily_limit=10, daily_reserve_share=0.2)
    for _ in range(8):  # 10 a day, 2 reserved
        lim.acquire("read", "op")
    with pytest.raises(QuotaError):
        lim.acquire("read", "op")


@pytest.mark.parametrize(
    ("kind", "policy", "retry_after", "wait"),
    [
        ("read", "TEN_SECONDLY_ROLLING", 2.0, 2.0),
        ("read", "TEN_SECONDLY_ROLLING", None, 10.0),
        ("read", "SECONDLY", None, 1.0),
        (SEARCH, None, None, 1.0),
    ],
    ids=["retry-after-wins", "ten-second-window", "secondly", "search"],
)
def test_a_429_waits_retry_after_or_the_policy_window(kind, policy, retry_after, wait):
    lim, _ = limiter()
    assert lim.throttle(kind, policy, retry_after) == wait
    assert lim.snapshot()["throttled.429"] == 1


def test_headers_that_show_only_own_calls_leave_the_rolling_window_in_charge():
    lim, clock = limiter(ten_second_limit=3)
    for step in range(3):
        lim.acquire("read", "op")
        lim.observe("read", {"X-HubSpot-RateLimit-Max": "3",
                             "X-HubSpot-RateLimit-Remaining": str(2 - step)})  # fmt: skip
        clock.now += 1.0
    lim.acquire("read", "op")  # the first call leaves the window at t=10 (+ slack), not t=12
    assert clock.sleeps == [7.25]
