"""Hostile HubSpot records and answers, each through `valuesync run` against one sandbox
portal (shared by the module; every case has its own project and state DB).

HubSpot sends every property value as text, so anything can arrive in a number or date
property: a 17-digit epoch, an integer beyond 2^63, `inf`. Such records are set aside
(exit 1); too many stop the run before any write (exit 2); answers that break HubSpot's
published spec are CRM errors (exit 3), never "0 properties".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hostile_support import (
    Bench,
    Case,
    bench_for,
    check_named,
    fault,
    mirror_ids,
    put,
    run_case,
    set_rates_kind,
)
from test_cli_support import AS_OF, vs, vs_json


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    yield from bench_for("hubspot", tmp_path_factory.mktemp("hostile-hs"))


def strict(b: Bench) -> tuple[str, Callable[[], None]]:
    """HubSpot's published spec: a boolean query parameter is `true` or `false`."""
    b.server.faults.configure(hs_strict_spec=True)
    return "", lambda: b.server.faults.configure(hs_strict_spec=False)


WRITE = r"/batch/update"
SET_ASIDE = "were set aside and not written"
CASES = [
    Case("unmapped deal type", put("opportunities", "dealtype", "partnership"), 1,
         ("{id}", "objects.opportunities.values.type", SET_ASIDE)),
    Case("unmapped ticket priority", put("tickets", "hs_ticket_priority", "CRITICAL"), 1,
         ("{id}", "objects.tickets.values.priority", SET_ASIDE)),
    Case("unmapped invoice status", put("invoices", "hs_invoice_status", "refunded"), 1,
         ("{id}", "objects.invoices.values.status", SET_ASIDE)),
    Case("employees beyond 2^63", put("accounts", "numberofemployees", "99999999999999999999"),
         1, ("{id}", "beyond 2^63", SET_ASIDE), max_share=0.05),
    Case("employees 'a few'", put("accounts", "numberofemployees", "a few"), 1,
         ("{id}", "not a whole number", SET_ASIDE), max_share=0.05),
    Case("17-digit close date", put("opportunities", "closedate", "12345678901234567"), 1,
         ("{id}", "date out of range", SET_ASIDE)),
    Case("close date 'soon'", put("opportunities", "closedate", "soon"), 1,
         ("{id}", "not a date", SET_ASIDE)),
    Case("amount inf", put("opportunities", "amount", "inf"), 1,
         ("{id}", "not a finite number", SET_ASIDE)),
    Case("amount NaN", put("opportunities", "amount", "NaN"), 1,
         ("{id}", "not a number", SET_ASIDE)),
    Case("amount 1e400", put("opportunities", "amount", "1e400"), 1,
         ("{id}", "not a finite number", SET_ASIDE)),
    Case("company created in year 30000", put("accounts", "createdate", "30000-01-01T00:00:00Z"),
         1, ("{id}", "not a date and time", SET_ASIDE), max_share=0.05),
    Case("escalated 'perhaps'", put("tickets", "escalated", "perhaps"), 1,
         ("{id}", "not true or false", SET_ASIDE)),
    Case("effort hours 1e19", put("tickets", "effort_hours", "1e19"), 1,
         ("{id}", "out of range", SET_ASIDE)),
    Case("invoice date epoch beyond 2200", put("invoices", "hs_invoice_date", "99999999999999"),
         1, ("{id}", "date out of range", SET_ASIDE)),
    Case("3 of 119 deals bad", put("opportunities", "amount", "lots", n=3), 2,
         ("{id}", "quarantine.max_share", "stopped before any write")),
    Case("1 of 40 companies bad", put("accounts", "numberofemployees", "x"), 2,
         ("{id}", "quarantine.max_share (1.0%)", "stopped before any write")),
    Case("empty 200 to the properties list", fault("empty_200", r"/crm/v3/properties/"), 3,
         ("hubspot", "NO_RESPONSE_BODY")),
    Case("HTML 200 to the properties list", fault("non_json_200", r"/crm/v3/properties/"), 3,
         ("hubspot", "not JSON")),
    Case("empty 200 to a list page", fault("empty_200", r"/crm/v3/objects/companies$"), 3,
         ("hubspot", "list companies", "NO_RESPONSE_BODY")),
    Case("spec-strict portal: no archived=False", strict, 0, ("succeeded",)),
    Case("write answer one result short",
         fault("fewer_results", WRITE, fresh_crm=True), 1,
         ("NOT_CONFIRMED",)),
    Case("write answer naming other ids",
         fault("other_ids", WRITE, fresh_crm=True), 1,
         ("NOT_CONFIRMED",)),
    Case("write answer with a stranger", fault("more_results", WRITE, fresh_crm=True), 0,
         ("succeeded",)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile_record(bench: Bench, case: Case) -> None:
    project, record_id, text = run_case(bench, case)
    check_named(project, record_id, text, case)


def test_purged_company_leaves_the_mirror_on_a_full_read(bench: Bench) -> None:
    """A company gone from the portal altogether (purged after its 90 days archived) is
    removed from the mirror by the next full read."""
    project = bench.fresh()
    vs_json("run", "--as-of", AS_OF, cwd=project)
    records = bench.records("tickets")
    victim = bench.ids("tickets", 1, offset=7)[0]
    assert victim in mirror_ids(project, "tickets")
    kept = records.pop(victim)
    try:
        full = vs_json("run", "--as-of", AS_OF, "--full", cwd=project)
        assert full["objects"]["tickets"]["deleted"] >= 1
        assert victim not in mirror_ids(project, "tickets")
    finally:
        records[victim] = kept


def test_check_lists_enumeration_options_the_mapping_does_not_cover(bench: Bench) -> None:
    prop = bench.store().table("tickets").fields["hs_ticket_priority"]
    prop.picklist.append("CRITICAL")
    prop.extra["options"].append({"label": "Critical", "value": "CRITICAL", "displayOrder": 9,
                                  "hidden": False, "description": ""})  # fmt: skip
    try:
        done = vs("check", cwd=bench.fresh())
    finally:
        prop.picklist.remove("CRITICAL")
        prop.extra["options"].pop()
    text = " ".join(done.stdout.split())
    assert done.returncode == 1, done.stdout + done.stderr
    assert "objects.tickets.values.priority" in text and "'CRITICAL'" in text
    assert "Traceback" not in done.stderr


def test_crm_rates_are_refused_for_hubspot(bench: Bench) -> None:
    """HubSpot has no rates valuesync reads: `check` says so, `run` stops before writing."""
    project = bench.fresh()
    set_rates_kind(project, "crm")
    checked = vs_json("check", cwd=project, code=1)
    problems = [p for p in checked["problems"] if p["key_path"] == "rates.kind"]
    assert problems and "rates.kind: file" in problems[0]["message"], checked
    writes = len(bench.writes)
    done = vs("run", "--as-of", AS_OF, cwd=project)
    assert done.returncode == 2, done.stderr
    assert "rates.kind: file" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr and len(bench.writes) == writes
