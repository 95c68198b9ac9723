"""The mapping and model editors (TestClient over a sandbox CRM): what is offered, what a
save writes and records, and bad input refused next to its field with nothing saved."""

from __future__ import annotations

import re
from html import unescape

import yaml

from sync.state.audit import config_changes
from tests.integration.ui.conftest import csrf, form_of, text_of, wait_job

REGION = "objects.accounts.fields.region"
TYPE_VALUE = "objects.opportunities.values.type.Existing Customer - Downgrade"


def _field_error(page: str, name: str) -> str:
    """The messages shown in the table cell of the form field `name`."""
    cell = re.search(r'name="' + re.escape(name) + r'".*?</td>', page, flags=re.S)
    assert cell, name
    found = re.findall(r'class="field-error"[^>]*>(.*?)</span>', cell.group(0), re.S)
    return unescape(" ".join(found))


def test_dropdowns_offer_compatible_fields_with_labels(ui_site, make_client) -> None:
    client = make_client(ui_site())
    page = client.get("/mapping/sb").text
    employees = re.search(
        r'<select name="objects.accounts.fields.employees".*?</select>', page, flags=re.S
    ).group(0)
    assert "Employees (NumberOfEmployees, int)" in employees
    assert "(Name, string)" not in employees  # text cannot feed a number column
    region = re.search(r'<select name="' + REGION + '".*?</select>', page, flags=re.S).group(0)
    assert '<option value="BillingCountry" selected>' in region
    assert "Account Type (Type, picklist)" in region


def test_mapping_a_field_through_the_dropdown_changes_the_plan(ui_site, make_client) -> None:
    site = ui_site()
    site.run()
    client = make_client(site)
    client.post("/connections/sb/plan", headers=csrf(client))
    assert sum(c.records_changed for c in wait_job(client).result.objects.values()) == 0
    page = client.get("/mapping/sb").text
    preview = client.post("/mapping/sb", data=form_of(page, **{REGION: "Type", "mode": "preview"}))
    assert preview.status_code == 200
    assert "-      region: BillingCountry" in preview.text and "+      region: Type" in preview.text
    assert "region: Type" not in (site.folder / "salesforce.yaml").read_text()
    saved = client.post(
        "/mapping/sb", data=form_of(preview.text, **{REGION: "Type", "mode": "save"})
    )
    assert "saved salesforce.yaml" in saved.text
    assert "the next plan or run reads accounts in full" in text_of(saved.text)
    audit_row = re.search(r'<table id="audit">.*?</table>', saved.text, flags=re.S).group(0)
    assert "region: Type" in unescape(audit_row) and "console" in audit_row
    state = client.app.state.console.state()
    assert state.get_cursor("sb", "accounts") is None  # read again through the new mapping
    assert state.get_cursor("sb", "opportunities") is not None  # its mapping did not change
    text = (site.folder / "salesforce.yaml").read_text()
    assert "region: Type" in text
    assert text.startswith("# valuesync field mapping for Salesforce")  # comments kept
    assert "priority: {Low: low, Medium: medium, High: high, Urgent: urgent}" in text  # flow style
    assert "region: BillingCountry" in (site.folder / "salesforce.yaml.prev").read_text()
    audit = config_changes(client.app.state.console.state(), "sb")
    assert len(audit) == 1 and "+      region: Type" in audit[0]["diff"]
    assert "console" in audit[0]["who"]
    client.post("/connections/sb/plan", headers=csrf(client))
    plan = wait_job(client)
    assert plan.status == "done", plan.error
    assert sum(c.records_changed for c in plan.result.objects.values()) > 0  # region feeds fit


def unmap_downgrade(site) -> None:
    """The project's mapping without a code for the CRM's 'Existing Customer - Downgrade'."""
    path = site.folder / "salesforce.yaml"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(x for x in lines if "Existing Customer - Downgrade:" not in x))


def test_an_unmapped_picklist_value_is_highlighted_until_mapped(ui_site, make_client) -> None:
    site = ui_site()
    unmap_downgrade(site)
    client = make_client(site)
    page = client.get("/mapping/sb").text
    row = re.search(r'<tr class="unmapped" data-crm-value="Existing Customer - Downgrade">', page)
    assert row, "the CRM's value without a canonical code is highlighted"
    bad = client.post("/mapping/sb", data=form_of(page, **{TYPE_VALUE: "shrink", "mode": "save"}))
    assert bad.status_code == 422
    assert "Existing Customer - Downgrade" not in (site.folder / "salesforce.yaml").read_text()
    assert "shrink" in _field_error(bad.text, TYPE_VALUE) or "shrink" in text_of(bad.text)
    saved = client.post(
        "/mapping/sb", data=form_of(page, **{TYPE_VALUE: "renewal", "mode": "save"})
    )
    assert "saved" in saved.text
    assert "Existing Customer - Downgrade: renewal" in (site.folder / "salesforce.yaml").read_text()
    after = client.get("/mapping/sb").text
    assert 'class="unmapped" data-crm-value="Existing Customer - Downgrade"' not in after


def test_bad_mapping_input_is_refused_next_to_the_field(ui_site, make_client) -> None:
    site = ui_site()
    client = make_client(site)
    before = (site.folder / "salesforce.yaml").read_text()
    page = client.get("/mapping/sb").text
    bad = client.post(
        "/mapping/sb",
        data=form_of(
            page,
            **{
                "objects.accounts.fields.employees": "Name",  # a text field into a number column
                REGION: "No_Such_Field__c",  # unknown field
                "mode": "save",
            },
        ),
    )
    assert bad.status_code == 422
    assert "'Name' is a string field; employees needs a int" in _field_error(
        bad.text, "objects.accounts.fields.employees"
    )
    assert "field 'No_Such_Field__c' is not on Account" in _field_error(bad.text, REGION)
    assert 'id="save-mapping"' not in bad.text
    assert (site.folder / "salesforce.yaml").read_text() == before
    assert not (site.folder / "salesforce.yaml.prev").exists()
    assert config_changes(client.app.state.console.state(), "sb") == []


def test_a_concurrent_edit_of_the_same_file_saves_nothing(ui_site, make_client) -> None:
    site = ui_site()
    client = make_client(site)
    page = client.get("/mapping/sb").text
    path = site.folder / "salesforce.yaml"
    theirs = path.read_text().replace("domain: Website", "domain: Website  # theirs")
    path.write_text(theirs)  # someone else saved meanwhile
    late = client.post("/mapping/sb", data=form_of(page, **{REGION: "Type", "mode": "save"}))
    assert late.status_code == 409
    assert "the file changed since this page was opened" in text_of(late.text)
    assert path.read_text() == theirs


def test_model_preview_moves_accounts_before_anything_is_saved(ui_site, make_client) -> None:
    site = ui_site()
    site.run()
    client = make_client(site)
    model_file = site.folder / "value_model.yaml"
    before = model_file.read_text()
    page = client.get("/model/sb").text
    same = client.post("/model/sb/preview", headers=csrf(client), data=form_of(page))
    assert 'data-moved="0"' in same.text
    moved = client.post(
        "/model/sb/preview",
        headers=csrf(client),
        data=form_of(page, **{"value.criteria.0.weight": "90", "fit.criteria.3.weight": "0"}),
    )
    count = int(re.search(r'data-moved="(\d+)"', moved.text).group(1))
    assert count > 0
    assert len(re.findall(r'<tr class="moved">', moved.text)) == min(count, 50)
    assert "revenue now" in moved.text and "value (CLV) now" in moved.text
    assert model_file.read_text() == before  # a preview saves nothing
    saved = client.post(
        "/model/sb", data=form_of(page, **{"value.criteria.0.weight": "90", "mode": "save"})
    )
    assert "saved value_model.yaml" in saved.text
    assert "{feature: margin_pct, weight: 90, missing: worst}" in model_file.read_text()


def test_bad_model_input_is_refused_next_to_the_field(ui_site, make_client) -> None:
    site = ui_site()
    site.run()
    client = make_client(site)
    model_file = site.folder / "value_model.yaml"
    before = model_file.read_text()
    page = client.get("/model/sb").text
    rule = "rules.0.rules.1.when"
    fields = {
        "value.criteria.0.weight": "lots",
        rule: '{field: value_band, op: "~~", value: high}',
        "mode": "save",
    }
    bad = client.post("/model/sb", data=form_of(page, **fields))
    assert bad.status_code == 422
    assert "valid number" in _field_error(bad.text, "value.criteria.0.weight")
    assert "Input should be '=='" in _field_error(bad.text, rule)
    unknown = client.post(
        "/model/sb",
        data=form_of(page, **{rule: "{field: no_such_column, op: '==', value: 1}", "mode": "save"}),
    )
    assert unknown.status_code == 422 and "no_such_column" in _field_error(unknown.text, rule)
    preview = client.post("/model/sb/preview", headers=csrf(client), data=form_of(page, **fields))
    assert "not valid" in preview.text and "data-moved" not in preview.text
    assert model_file.read_text() == before
    assert config_changes(client.app.state.console.state(), "sb") == []


def test_rules_can_be_reordered(ui_site, make_client) -> None:
    site = ui_site()
    client = make_client(site)
    path = site.folder / "value_model.yaml"
    outputs = re.findall(r"then: (.+)", path.read_text().split("field: service_tier", 1)[1])
    first, second = outputs[0].strip(), outputs[1].strip()
    page = client.get("/model/sb").text
    rulesets = yaml.safe_load(path.read_text())["rules"]
    i = [r["field"] for r in rulesets].index("service_tier")
    order = {f"rules.{i}.rules.0.position": "2", f"rules.{i}.rules.1.position": "1"}
    saved = client.post("/model/sb", data=form_of(page, **order, mode="save"))
    assert "saved" in saved.text, text_of(saved.text)[:2000]
    tier = path.read_text().split("field: service_tier", 1)[1]
    assert tier.index(f"then: {second}") < tier.index(f"then: {first}")


def test_the_describe_is_read_once_then_reloaded_on_demand(ui_site, make_client) -> None:
    site = ui_site()
    described: list[str] = []
    site.server.faults.observers.append(
        lambda method, path: described.append(path) if "describe" in path else None
    )
    client = make_client(site)
    first = client.get("/mapping/sb").text
    assert described, "the first view describes the mapped objects"
    assert 'id="described"' in first and "Reload from CRM" in first
    count = len(described)
    assert "Employees (NumberOfEmployees, int)" in client.get("/mapping/sb").text
    assert len(described) == count  # the second view is served from the console's cache
    client.get("/mapping/sb?reload=1")
    assert len(described) == 2 * count  # asked to, it reads every object again
    client.post("/connections/sb/provision", headers=csrf(client))
    wait_job(client)
    before = len(described)
    client.get("/mapping/sb")
    assert len(described) > before  # provisioning dropped the cached describes


def test_criteria_and_rules_can_be_added_and_removed(ui_site, make_client) -> None:
    site = ui_site()
    client = make_client(site)
    path = site.folder / "value_model.yaml"
    tree = yaml.safe_load(path.read_text())
    value = [c["feature"] for c in tree["value"]["criteria"]]
    new_feature = "revenue_lifetime"
    assert new_feature not in value
    n = len(value)
    i = [r["field"] for r in tree["rules"]].index("service_tier")
    tier = tree["rules"][i]
    m = len(tier["rules"])
    label = tier["labels"][-1]
    page = client.get("/model/sb").text
    assert f'name="value.criteria.{n}.feature"' in page  # the empty row that adds one
    assert f'name="rules.{i}.rules.{m}.when"' in page
    edit = {
        f"value.criteria.{n}.feature": new_feature,
        f"value.criteria.{n}.weight": "7",
        f"value.criteria.{n}.direction": "higher_is_better",
        "value.criteria.0.remove": "1",
        f"rules.{i}.rules.{m}.when": "{field: quadrant, op: '==', value: Core}",
        f"rules.{i}.rules.{m}.then": label,
        f"rules.{i}.rules.{m}.position": "1",
        f"rules.{i}.rules.0.remove": "1",
        "mode": "save",
    }
    saved = client.post("/model/sb", data=form_of(page, **edit))
    assert "saved value_model.yaml" in saved.text, text_of(saved.text)[:2000]
    after = yaml.safe_load(path.read_text())
    features = [c["feature"] for c in after["value"]["criteria"]]
    assert features == [*value[1:], new_feature]
    assert after["value"]["criteria"][-1]["weight"] == 7
    rules = after["rules"][i]["rules"]
    assert len(rules) == m  # one added, one removed
    assert rules[0] == {"when": {"field": "quadrant", "op": "==", "value": "Core"}, "then": label}
    assert tier["rules"][0] not in rules and rules[1:] == tier["rules"][1:]


def test_a_bad_new_rule_is_refused_next_to_its_row(ui_site, make_client) -> None:
    site = ui_site()
    client = make_client(site)
    path = site.folder / "value_model.yaml"
    before = path.read_text()
    tree = yaml.safe_load(before)
    i = [r["field"] for r in tree["rules"]].index("service_tier")
    m = len(tree["rules"][i]["rules"])
    page = client.get("/model/sb").text
    when = f"rules.{i}.rules.{m}.when"
    bad = client.post(
        "/model/sb",
        data=form_of(page, **{when: "{field: no_such_feature, op: '>', value: 1}",
                              f"rules.{i}.rules.{m}.then": tree["rules"][i]["labels"][0],
                              "mode": "save"}),
    )  # fmt: skip
    assert bad.status_code == 422
    assert "no_such_feature" in _field_error(bad.text, when)
    assert path.read_text() == before
