"""Full runs against a seeded sandbox: what is written, that a repeat writes nothing, that a
change writes only what it changes, manual overrides, and plan (a dry run)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from mappings.crm import load_crm_mapping, shipped_mapping
from sync.pipeline.diff import normalise
from tests.integration.pipeline.conftest import CRMS, Site, edit, out_field

COMPARED = ("quadrant", "value_score", "fit_score", "clv", "account_action", "service_tier",
            "reason", "deal_priority", "max_acquisition_cost")  # fmt: skip


def expected_outputs(site: Site, run_id: int) -> pd.DataFrame:
    """What run `run_id` computed (state DB scores), normalised like the CRM stores it."""
    from sync.pipeline.setup import load_setup

    setup = load_setup(site.project(), None)
    db = site.state()
    rows = []
    for table, key in (("accounts", "account_id"), ("opportunities", "opportunity_id")):
        scores = db.scores(run_id, table)
        for column in setup.outputs(table):
            if column not in COMPARED:
                continue
            rows.append(pd.DataFrame({
                "object": table, "record_id": scores[key].astype(str), "column": column,
                "value": list(normalise(scores[column], column)),
            }))  # fmt: skip
    db.close()
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values(["object", "record_id", "column"]).reset_index(drop=True)


def crm_values(site: Site) -> pd.DataFrame:
    got = site.outputs()
    return got[got["column"].isin(COMPARED)].reset_index(drop=True)


def bump_finance(site: Site, customers: int = 2, factor: float = 3.0) -> list[str]:
    """Multiply the revenue of a few ERP customers in finance.csv; returns their ERP ids."""
    path = site.folder / "finance.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    chosen = sorted(frame["erp_customer_id"].unique())[3 : 3 + customers]
    rows = frame["erp_customer_id"].isin(chosen)
    revenue = frame["revenue"].astype(float)
    frame["revenue"] = revenue.where(~rows, (revenue * factor).round(2))
    frame.to_csv(path, index=False)
    return chosen


def _same(x: object, y: object) -> bool:
    if pd.isna(x) or pd.isna(y):  # type: ignore[call-overload]
        return bool(pd.isna(x) and pd.isna(y))  # type: ignore[call-overload]
    if isinstance(x, float) and isinstance(y, float):
        return abs(x - y) < 0.004
    return x == y


def changed_records(site: Site, before: int, after: int) -> set[tuple[str, str]]:
    """(object, record_id) whose computed outputs differ between two runs' scores."""
    a, b = expected_outputs(site, before), expected_outputs(site, after)
    merged = a.merge(b, on=["object", "record_id", "column"], suffixes=("_a", "_b"))
    differ = [not _same(x, y) for x, y in zip(merged["value_a"], merged["value_b"], strict=True)]
    hit = merged[differ]
    return set(zip(hit["object"], hit["record_id"], strict=True))


@pytest.mark.parametrize("crm", CRMS)
def test_run_writes_outputs_then_nothing_then_only_what_changed(
    crm: str, make_site: Callable[..., Site]
) -> None:
    site = make_site(crm, accounts=300)
    first = site.run()
    assert first.status == "succeeded"
    accounts, opps = len(site.data.accounts), len(site.data.opportunities)
    assert first.objects["accounts"].written == accounts
    assert first.objects["opportunities"].written == opps
    assert first.objects["accounts"].write_calls == -(
        -accounts // (200 if crm == "salesforce" else 100)
    )
    pd.testing.assert_frame_equal(crm_values(site), expected_outputs(site, first.run_id))
    assert first.finance["matched_by"]["erp_id"] > 0 and first.finance["unmatched_customers"] > 0
    assert int(first.distribution["accounts"].sum()) == accounts

    writes = site.write_count
    second = site.run()
    assert (second.status, second.write_calls, second.written) == ("succeeded", 0, 0)
    assert site.write_count == writes, "a run with nothing changed must not write"

    bump_finance(site)
    deal = next(
        i
        for i, r in site.records("opportunities").items()
        if r.get("IsClosed" if crm == "salesforce" else "hs_is_closed") not in (True, "true")
    )
    stage = {"salesforce": {"StageName": "Closed Lost"}, "hubspot": {"dealstage": "closedlost"}}
    edit(site, "opportunities", deal, stage[crm])
    third = site.run()
    expected = changed_records(site, second.run_id, third.run_id)
    db = site.state()
    written = db.changes(third.run_id)
    db.close()
    assert expected, "the finance change must move some scores"
    assert set(zip(written["object"], written["record_id"], strict=True)) == expected
    assert third.written == len(expected) < accounts + opps
    pd.testing.assert_frame_equal(crm_values(site), expected_outputs(site, third.run_id))


@pytest.mark.parametrize("crm", CRMS)
def test_manual_override_is_written_and_used_by_rules(
    crm: str, make_site: Callable[..., Site]
) -> None:
    site = make_site(crm, accounts=120)
    first = site.run()
    db = site.state()
    scores = db.scores(first.run_id, "accounts").set_index("account_id")
    target = scores[scores["computed_quadrant"] == "Deprioritize"].index[0]
    edit(site, "accounts", target, {out_field(site, "accounts", "quadrant_override"): "Core"})
    second = site.run()
    after = db.scores(second.run_id, "accounts").set_index("account_id")
    db.close()
    assert after.loc[target, "quadrant"] == "Core"
    assert after.loc[target, "computed_quadrant"] == "Deprioritize"
    assert after.loc[target, "account_action"] == "Invest"  # the rule of Core, not Deprioritize
    assert after.loc[target, "reason"].startswith("Quadrant set by hand")
    got = site.outputs().set_index(["object", "record_id", "column"])["value"]
    assert got[("accounts", target, "quadrant")] == "Core"
    assert got[("accounts", target, "account_action")] == "Invest"


@pytest.mark.parametrize("crm", CRMS)
def test_plan_writes_nothing_and_counts_the_calls_a_run_needs(
    crm: str, make_site: Callable[..., Site]
) -> None:
    site = make_site(crm, accounts=120)
    planned = site.plan()
    assert planned.status == "planned" and planned.dry_run
    assert site.write_count == 0
    db = site.state()
    assert db.changes(planned.run_id).empty
    db.close()
    accounts = len(site.data.accounts)
    assert planned.objects["accounts"].records_changed == accounts
    per_field = planned.field_changes.set_index(["object", "field"])["records"]
    quadrant_field = load_crm_mapping(shipped_mapping(crm)).outputs["accounts"].fields["quadrant"]
    assert per_field[("accounts", quadrant_field)] == accounts  # every account gets a quadrant
    field_total = per_field.groupby(level=0).sum()["accounts"]
    assert field_total == planned.objects["accounts"].fields_changed
    batch = 200 if crm == "salesforce" else 100
    assert planned.objects["accounts"].write_calls == -(-accounts // batch)
    done = site.run()
    assert done.objects["accounts"].write_calls == planned.objects["accounts"].write_calls
    assert done.objects["opportunities"].write_calls == planned.objects["opportunities"].write_calls
    assert len(planned.examples) and {"deal_priority", "max_acquisition_cost"} <= set(
        planned.examples.columns
    )
