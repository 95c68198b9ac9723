"""The value model's per-account money fields and its rule picklists, provisioned and written
on the sandbox CRM through the real client libraries.

The shipped mappings write LTV, LTV:CAC, CAC payback months, active probability and the
lifecycle on accounts next to Lifetime Value and Max Acquisition Cost; `fields provision`
creates them as numbers / currency / a picklist, and a run writes exactly what the engine
computed, so the identities of docs/value-model.md §5 hold on the CRM record. Under the
value_chain preset (no rules: in the model file, so the preset's default rules apply) the
`service_model` rule is a picklist with its three labels, created and written the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
import yaml

from mappings.crm import load_crm_mapping, shipped_mapping
from sync.pipeline.setup import build_connector, load_setup
from tests.integration.pipeline.conftest import CRMS, Site, write_project

NEW = ("max_acquisition_cost", "ltv", "ltv_to_cac", "cac_payback_months", "active_probability",
       "lifecycle")  # fmt: skip
TYPES = {
    "salesforce": {"currency": "currency", "number": "double", "picklist": "picklist"},
    "hubspot": {"currency": "number", "number": "number", "picklist": "enumeration"},
}
KINDS = {"max_acquisition_cost": "currency", "ltv": "currency", "ltv_to_cac": "number",
         "cac_payback_months": "number", "active_probability": "number", "lifecycle": "picklist",
         "service_model": "picklist"}  # fmt: skip
SERVICE_MODELS = ["High-touch", "Standard", "Digital"]


def described(site: Site, table: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """CRM field -> (describe type, picklist values) of the table's output object."""
    setup = load_setup(site.project(), None)
    connector = build_connector(setup, site.env)
    obj = setup.mapping.outputs[table].object  # type: ignore[index]
    schema = connector.describe(obj)
    out = {}
    for field in setup.outputs(table).values():
        info = schema.get(field)
        if info is not None:
            out[field] = (info.type, tuple(info.picklist))
    return out


def written(site: Site, columns: tuple[str, ...]) -> pd.DataFrame:
    got = site.outputs()
    got = got[(got["object"] == "accounts") & got["column"].isin(columns)]
    return got.pivot(index="record_id", columns="column", values="value")


def stored_scores(site: Site, run_id: int) -> pd.DataFrame:
    db = site.state()
    try:
        scores = db.scores(run_id, "accounts")
    finally:
        db.close()
    return scores.set_index(scores["account_id"].astype(str))


@pytest.mark.parametrize("crm", CRMS)
def test_money_fields_are_provisioned_and_written_per_account(
    crm: str, make_site: Callable[..., Site]
) -> None:
    site = make_site(crm, accounts=60)
    fields = load_crm_mapping(shipped_mapping(crm)).outputs["accounts"].fields
    schema = described(site, "accounts")
    for column in NEW:
        kind = KINDS[column]
        assert schema[fields[column]][0] == TYPES[crm][kind], column
    assert set(schema[fields["lifecycle"]][1]) == {"customer", "prospect"}

    run = site.run()
    assert run.status == "succeeded"
    crm_rows = written(site, NEW + ("clv",))
    scores = stored_scores(site, run.run_id).loc[crm_rows.index]
    assert len(crm_rows) == len(site.data.accounts)
    for column in ("clv", "ltv", "max_acquisition_cost"):
        expected = scores[column].round(2)
        got = pd.to_numeric(crm_rows[column], errors="coerce")
        pd.testing.assert_series_equal(got, expected, check_names=False, atol=0.005)
    for column in ("ltv_to_cac", "cac_payback_months", "active_probability"):
        expected = pd.to_numeric(scores[column]).round(2)
        got = pd.to_numeric(crm_rows[column], errors="coerce")
        pd.testing.assert_series_equal(got, expected, check_names=False, atol=0.005)
    assert (crm_rows["lifecycle"] == scores["lifecycle"].astype(str)).all()
    # The identity the two money fields keep on every record with a non-negative CLV.
    target = load_setup(site.project(), None).model.clv.target_ltv_to_cac
    clv = pd.to_numeric(crm_rows["clv"])
    mac = pd.to_numeric(crm_rows["max_acquisition_cost"])
    ok = clv >= 0
    assert ok.sum() > 0
    assert ((clv[ok] - target * mac[ok]).abs() <= 0.01 * target + 0.005).all()
    assert (mac[clv < 0] == 0).all()
    assert mac[clv.isna()].isna().all()  # no cost data: no lifetime value, nothing to bound
    # LTV:CAC per account is LTV over the CAC the engine used (the CRM keeps 2 decimals).
    cac = pd.to_numeric(scores["acquisition_cost"])
    ltv = pd.to_numeric(crm_rows["ltv"])
    customer = (scores["lifecycle"].astype(str) == "customer") & (cac > 0) & ltv.notna()
    assert customer.sum() > 10
    ratio = (ltv / cac)[customer]
    got_ratio = pd.to_numeric(crm_rows["ltv_to_cac"])[customer]
    assert ((ratio - got_ratio).abs() < 0.006).all()


def value_chain_project(site: Site) -> None:
    """The site's model switched to the value_chain preset with its default rules, and a
    mapping that writes service_model (in place of service_tier, which that preset drops)."""
    model_path = site.folder / "value_model.yaml"
    model = yaml.safe_load(model_path.read_text())
    model["quadrants"]["preset"] = "value_chain"
    model.pop("rules", None)
    model_path.write_text(yaml.safe_dump(model, sort_keys=False))
    mapping = yaml.safe_load(shipped_mapping(site.crm).read_text())
    fields = mapping["outputs"]["accounts"]["fields"]
    name = fields.pop("service_tier")
    fields["service_model"] = name.replace("Tier", "Model").replace("tier", "model")
    path = site.folder / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    write_project(site.folder, site.crm, site.server.url, mapping=path)
    model_path.write_text(yaml.safe_dump(model, sort_keys=False))  # write_project rewrote it


@pytest.mark.parametrize("crm", CRMS)
def test_value_chain_service_model_is_a_picklist_and_is_written(
    crm: str, make_site: Callable[..., Site]
) -> None:
    site = make_site(crm, accounts=60, provision=False)
    value_chain_project(site)
    result = site.provision()
    field = load_setup(site.project(), None).outputs("accounts")["service_model"]
    account_object = load_setup(site.project(), None).mapping.outputs["accounts"].object
    assert field in result[account_object].created
    kind, labels = described(site, "accounts")[field]
    assert kind == TYPES[crm]["picklist"]
    assert list(labels) == SERVICE_MODELS

    run = site.run()
    assert run.status == "succeeded"
    got = written(site, ("service_model",))["service_model"]
    scores = stored_scores(site, run.run_id).loc[got.index, "service_model"].astype(str)
    assert len(got) == len(site.data.accounts)
    assert (got == scores).all()
    assert set(got) <= set(SERVICE_MODELS) and got.nunique() >= 2


def test_a_run_stores_its_segments_and_the_report_from_state_shows_them(
    make_site: Callable[..., Site],
) -> None:
    from sync.report import html as report_html
    from sync.report.data import ReportInput, assemble
    from sync.report.sources import StateSource

    site = make_site("salesforce", accounts=60)
    run = site.run()
    assert run.status == "succeeded"
    setup = load_setup(site.project(), None)
    db = site.state()
    try:
        stored = db.scores(run.run_id, "segments")
        scores = StateSource(db, "sb", setup.model).scores(run.run_id)
    finally:
        db.close()
    assert not stored.empty and stored["accounts"].sum() == len(site.data.accounts)
    assert scores.segments is not None
    pd.testing.assert_frame_equal(scores.segments.reset_index(drop=True), stored)
    page = report_html.render(assemble(ReportInput(scores)))
    assert "<div id='segment-table'>" in page and "carry no segment table" not in page
