"""The pure trigger logic: a run's facts in, each trigger's verdict out (no I/O, no clock)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from pydantic import TypeAdapter

from mappings.alerts import QuadrantMigration, Trigger
from value_engine.alerts import RunFacts, evaluate, quadrant_migrations, shares_by_quadrant

TRIGGER = TypeAdapter(Trigger)


def verdict(trigger: dict[str, Any], **facts: Any) -> bool | None:
    found = evaluate([TRIGGER.validate_python(trigger)], RunFacts(**facts))
    return found[0].firing if found else None


OK = {"status": "succeeded"}


@pytest.mark.parametrize(
    ("trigger", "facts", "expected"),
    [
        ({"kind": "run_failed"}, {"status": "failed", "message": "boom"}, True),
        ({"kind": "run_failed"}, OK, False),
        ({"kind": "rejected_share", "threshold": 0.1}, {**OK, "written": 89, "rejected": 11}, True),
        (
            {"kind": "rejected_share", "threshold": 0.1},
            {**OK, "written": 90, "rejected": 10},
            False,
        ),
        ({"kind": "rejected_share", "threshold": 0.1}, OK, False),
        ({"kind": "rejected_share", "threshold": 0.1}, {"status": "failed"}, None),
        ({"kind": "slow_run", "max_seconds": 60}, {**OK, "duration_seconds": 61}, True),
        ({"kind": "slow_run", "max_seconds": 60}, {**OK, "duration_seconds": 60}, False),
        ({"kind": "finance_stale", "max_age_days": 35}, {**OK, "finance_age_days": 36}, True),
        ({"kind": "finance_stale", "max_age_days": 35}, {**OK, "finance_age_days": 3}, False),
        ({"kind": "finance_stale", "max_age_days": 35}, OK, None),
        (
            {"kind": "record_count", "window": 3, "deviation": 0.5},
            {**OK, "pulled": {"accounts": 40}, "history": {"accounts": [100, 100, 100, 5]}},
            True,
        ),
        (
            {"kind": "record_count", "window": 3, "deviation": 0.5},
            {**OK, "pulled": {"accounts": 140}, "history": {"accounts": [100, 120, 80]}},
            False,
        ),
        (
            {"kind": "record_count", "window": 3, "deviation": 0.5},
            {**OK, "pulled": {"accounts": 400}, "history": {"accounts": [100, 120, 80]}},
            True,
        ),
        ({"kind": "record_count"}, {**OK, "pulled": {"accounts": 400}}, None),
    ],
    ids=[
        "failed",
        "not-failed",
        "rejected-over",
        "rejected-at-threshold",
        "nothing-written",
        "rejected-unknown-when-failed",
        "slow",
        "at-limit",
        "stale",
        "fresh",
        "no-finance",
        "count-drop",
        "count-in-band",
        "count-jump",
        "no-history",
    ],
)
def test_verdicts(trigger: dict[str, Any], facts: dict[str, Any], expected: bool | None) -> None:
    assert verdict(trigger, **facts) is expected


def test_record_count_uses_only_the_last_window_runs() -> None:
    t = TRIGGER.validate_python({"kind": "record_count", "window": 2, "deviation": 0.1})
    facts = RunFacts("succeeded", pulled={"accounts": 100}, history={"accounts": [100, 100, 1]})
    (found,) = evaluate([t], facts)
    assert not found.firing and found.details["average"] == 100


def frame(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["account_id", "quadrant", "clv", "owner_id"])


def test_migrations_between_two_runs_with_filters() -> None:
    before = frame(
        [
            ("a", "Core", 9e4, "u1"),
            ("b", "Core", 5e3, "u2"),
            ("c", "Develop", 1, "u1"),
            ("d", "Core", 8e4, "u2"),
        ]
    )
    after = frame(
        [
            ("a", "Fix or Reprice", 9e4, "u1"),
            ("b", "Deprioritize", 5e3, "u2"),
            ("c", "Core", 1, "u1"),
            ("d", "Core", 8e4, "u2"),
            ("e", "Core", 1, "u1"),
        ]
    )
    moved = quadrant_migrations(before, after)
    assert list(moved["account_id"]) == ["a", "b", "c"]  # e is new, d stayed
    assert list(moved["from_quadrant"]) == ["Core", "Core", "Develop"]
    rule = QuadrantMigration.model_validate(
        {"kind": "quadrant_migration", "from": ["Core"], "min_clv": 1e4}
    )
    assert list(quadrant_migrations(before, after, rule)["account_id"]) == ["a"]
    by_owner = QuadrantMigration.model_validate({"kind": "quadrant_migration", "owners": ["u2"]})
    assert list(quadrant_migrations(before, after, by_owner)["account_id"]) == ["b"]
    to = QuadrantMigration.model_validate({"kind": "quadrant_migration", "to": ["Core"]})
    assert list(quadrant_migrations(before, after, to)["account_id"]) == ["c"]
    assert quadrant_migrations(before.iloc[0:0], after).empty


def test_revenue_and_value_shares_add_up_per_quadrant() -> None:
    scores = pd.DataFrame(
        {"quadrant": ["Core", "Core", "Develop"], "revenue_12m": [50, 30, 20], "clv": [90, 10, -5]}
    )
    shares = shares_by_quadrant(scores).set_index("quadrant")
    assert shares.loc["Core", "accounts"] == 2
    assert shares.loc["Core", "revenue_share"] == 0.8 and shares.loc["Develop", "value_share"] == 0
    assert shares["revenue_share"].sum() == pytest.approx(1)
