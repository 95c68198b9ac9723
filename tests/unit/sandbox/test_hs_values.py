"""The HubSpot sandbox's wire formatting of datetimes (iso_ms), including its edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.sandbox.hubspot.values import iso_ms

PLUS_TWO = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("value", "full", "short"),
    [
        (datetime(2024, 3, 4, 5, 6, 7, 123456, UTC), "2024-03-04T05:06:07.123Z", None),
        (
            datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC),
            "2024-03-04T05:06:07.000Z",
            "2024-03-04T05:06:07Z",
        ),
        # below one millisecond: truncated to .000 like the rest, so also dropped when short
        (
            datetime(2024, 3, 4, 5, 6, 7, 999, UTC),
            "2024-03-04T05:06:07.000Z",
            "2024-03-04T05:06:07Z",
        ),
        (datetime(2024, 3, 4, 5, 6, 7, 1000, UTC), "2024-03-04T05:06:07.001Z", None),
        (datetime(2024, 3, 4, 5, 6, 7, 5000), "2024-03-04T05:06:07.005Z", None),  # naive: UTC
        (datetime(2024, 3, 4, 1, 6, 7, 5000, PLUS_TWO), "2024-03-03T23:06:07.005Z", None),
    ],
)
def test_iso_ms_is_utc_with_milliseconds(value: datetime, full: str, short: str | None) -> None:
    assert iso_ms(value) == full
    assert iso_ms(value, omit_zero_ms=True) == (short or full)
