"""The value checks the frames code sets records aside with (connectors/quarantine.py), and
the guard's rounding to a field's scale (sync/pipeline/guard.py): table-driven."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from connectors import quarantine as q
from sync.pipeline.guard import half_up


@pytest.mark.parametrize(
    ("kind", "raw", "code"),
    [
        ("int", "12", None),
        ("int", "lots", "NOT_A_NUMBER"),
        ("int", "99999999999999999999", "OUT_OF_RANGE"),
        ("int", 2**70, "OUT_OF_RANGE"),
        ("float", "1e300", "OUT_OF_RANGE"),
        ("float", "inf", "NON_FINITE"),
        ("float", "-Infinity", "NON_FINITE"),
        ("float", "NaN", "NOT_A_NUMBER"),
        ("float", "", None),
        ("float", None, None),
        ("float", "12.5", None),
    ],
    ids=lambda v: repr(v)[:24],
)
def test_numbers(kind: str, raw: Any, code: str | None) -> None:
    values, codes, _ = q.check_numbers(pd.Series([raw], dtype=object), kind)
    assert codes[0] == code
    assert pd.isna(values[0]) == (code is not None or raw in (None, ""))


@pytest.mark.parametrize(
    ("raw", "epoch", "date_only", "code"),
    [
        ("2024-05-01T10:00:00.000+0000", False, False, None),
        ("yesterday", False, False, "NOT_A_DATE"),
        ("2024-13-45", False, True, "NOT_A_DATE"),
        ("9999-12-31", False, True, "OUT_OF_RANGE"),
        ("1700000000000", True, False, None),
        ("12345678901234567", True, False, "OUT_OF_RANGE"),
        ("30000-01-01T00:00:00Z", True, False, "NOT_A_DATE"),
        ("1850-01-01T00:00:00Z", True, False, "OUT_OF_RANGE"),
    ],
)
def test_dates(raw: str, epoch: bool, date_only: bool, code: str | None) -> None:
    _, codes, _ = q.check_datetimes(pd.Series([raw]), epoch=epoch, date_only=date_only)
    assert codes[0] == code


def test_unmapped_choices_name_the_key_to_add_them_under() -> None:
    codes, messages = q.check_choices(
        pd.Series(["new", "Partner", None]), ("new", "renewal", "expansion"),
        "objects.opportunities.values.type",
    )  # fmt: skip
    assert list(codes) == [None, "UNMAPPED_VALUE", None]
    assert "objects.opportunities.values.type" in messages[1]


def test_uncovered_options() -> None:
    gaps = q.uncovered("tickets", "priority", ["Low", "Critical", "high"], {"Low": "low"})
    assert gaps == ["Critical"]
    assert q.uncovered("accounts", "industry", ["Anything"], None) == []
    # a signal mapped to a picklist: options that are not yes/no or a count, after the map
    gaps = q.uncovered("accounts", "referrals", ["Yes", "3", "Several", "Ja"], {"Ja": "yes"})
    assert gaps == ["Several"]
    message = q.uncovered_message("Account", "Referrals__c", "accounts", "referrals", gaps)
    assert "objects.accounts.values.referrals" in message and "`Several: yes`" in message


@pytest.mark.parametrize(
    ("number", "scale", "kept"),
    [(56.5, 0, 57.0), (-56.5, 0, -57.0), (56.45, 1, 56.5), (1.005, 2, 1.01), (12.0, 2, 12.0)],
)
def test_numbers_are_rounded_half_up_as_salesforce_keeps_them(
    number: float, scale: int, kept: float
) -> None:
    assert half_up(number, scale) == kept


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("yes", None),
        ("No", None),
        (" TRUE ", None),
        (True, None),
        ("x", None),
        ("3", None),
        (2.0, None),
        ("", None),
        (None, None),
        ("maybe", "UNREADABLE_VALUE"),
        ("oui", "UNREADABLE_VALUE"),
        ("-2", "UNREADABLE_VALUE"),
        ("inf", "UNREADABLE_VALUE"),
        ("NaN", "UNREADABLE_VALUE"),
        (float("inf"), "UNREADABLE_VALUE"),
    ],
    ids=lambda v: repr(v)[:24],
)
def test_advocacy_signals_are_yes_no_or_a_count(raw: Any, code: str | None) -> None:
    codes, messages = q.check_signal(
        pd.Series([raw], dtype=object), "objects.accounts.values.referrals"
    )
    assert codes[0] == code
    if code:
        assert "objects.accounts.values.referrals" in messages[0]
    assert q.signals_of("accounts") and q.signals_of("tickets") == ()
