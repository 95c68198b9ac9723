"""Hostile Salesforce records and answers, each through `valuesync run` against one sandbox
org (shared by the module; every case has its own project and state DB).

Unreadable or unmapped values set their record aside (exit 1, the record named with the
fix); too many stop the run before any write (exit 2); broken answers are CRM errors
(exit 3); computed values that the target field cannot hold never reach the CRM.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hostile_support import (
    Bench,
    Case,
    bench_for,
    check_named,
    fault,
    latest_run,
    mirror_ids,
    put,
    run_case,
    set_rates_kind,
)
from test_cli_support import AS_OF, vs, vs_json

from sync.report.health import health

BULK = {"bulk_query_threshold": 1, "bulk_poll_seconds": 0}


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    yield from bench_for("salesforce", tmp_path_factory.mktemp("hostile-sf"))


def field_size(obj: str, name: str, precision: int, scale: int) -> Callable[[Bench], Any]:
    """Make a provisioned number field narrower in the org's describe (an admin's edit)."""

    def make(b: Bench) -> tuple[str, Callable[[], None]]:
        f = b.store().table(obj).fields[name]
        old = dict(f.extra)
        f.extra.update(precision=precision, scale=scale)
        refill = b.clear_outputs()  # as before a first run: every output is to be written

        def undo() -> None:
            f.extra.clear()
            f.extra.update(old)
            refill()

        return "", undo

    return make


WRITE = r"/composite/sobjects"
SET_ASIDE = "were set aside and not written"
CASES = [
    # -- values that cannot be mapped or read: the record is set aside, the run goes on --
    Case("unmapped opportunity type", put("opportunities", "Type", "Mystery Deal"), 1,
         ("{id}", "objects.opportunities.values.type", SET_ASIDE)),
    Case("unmapped case priority", put("tickets", "Priority", "Critical"), 1,
         ("{id}", "objects.tickets.values.priority", SET_ASIDE)),
    Case("unmapped invoice status", put("invoices", "blng__InvoiceStatus__c", "Refunded"), 1,
         ("{id}", "objects.invoices.values.status", SET_ASIDE)),
    Case("text in employees", put("accounts", "NumberOfEmployees", "lots"), 1,
         ("{id}", "not a whole number", SET_ASIDE), max_share=0.05),
    Case("employees beyond 2^63", put("accounts", "NumberOfEmployees", 2**70), 1,
         ("{id}", "beyond 2^63", SET_ASIDE), max_share=0.05),
    Case("infinite amount", put("opportunities", "Amount", "Infinity"), 1,
         ("{id}", "not a finite number", SET_ASIDE)),
    Case("NaN amount", put("opportunities", "Amount", "NaN"), 1,
         ("{id}", "not a number", SET_ASIDE)),
    Case("amount 1e300", put("opportunities", "Amount", 1e300), 1,
         ("{id}", "out of range", SET_ASIDE)),
    Case("impossible close date", put("opportunities", "CloseDate", "2024-13-45"), 1,
         ("{id}", "not a date (YYYY-MM-DD)", SET_ASIDE)),
    Case("close date in 9999", put("opportunities", "CloseDate", "9999-12-31"), 1,
         ("{id}", "date out of range", SET_ASIDE)),
    Case("created 'yesterday'", put("accounts", "CreatedDate", "yesterday"), 1,
         ("{id}", "not a date and time", SET_ASIDE), max_share=0.05),
    Case("escalated 'maybe'", put("tickets", "IsEscalated", "maybe"), 1,
         ("{id}", "not true or false", SET_ASIDE)),
    Case("effort -Infinity", put("tickets", "Effort_Hours__c", "-Infinity"), 1,
         ("{id}", "not a finite number", SET_ASIDE)),
    Case("invoice amount 1.2.3", put("invoices", "blng__TotalAmount__c", "1.2.3"), 1,
         ("{id}", "not a number", SET_ASIDE)),
    Case("invoice date 31/12/2025", put("invoices", "blng__InvoiceDate__c", "31/12/2025"), 1,
         ("{id}", "not a date", SET_ASIDE)),
    Case("bad value through Bulk 2.0", put("opportunities", "Amount", "12 EUR"), 1,
         ("{id}", "not a number", SET_ASIDE), connection=BULK),
    # -- too many bad records: stop before any write, exit 2 --
    Case("2 of 119 opportunities bad", put("opportunities", "Type", "Mystery Deal", n=2), 2,
         ("{id}", "quarantine.max_share", "stopped before any write",
          "objects.opportunities.values.type")),
    Case("1 of 40 accounts bad", put("accounts", "NumberOfEmployees", "many"), 2,
         ("{id}", "quarantine.max_share (1.0%)", "stopped before any write")),
    # -- computed values the target field cannot hold: nothing written, exit 2 --
    Case("lifetime value wider than its field",
         field_size("Account", "Lifetime_Value__c", 4, 2), 2,
         ("Lifetime_Value__c", "precision 4, scale 2", "nothing was written",
          "valuesync fields provision")),
    # -- answers that are not what the API documents: CRM error, exit 3 --
    Case("empty 200 to a query", fault("empty_200", r"/query"), 3,
         ("salesforce", "not JSON", "Run again")),
    Case("HTML 200 to a query", fault("non_json_200", r"/query"), 3,
         ("salesforce", "not JSON", "Run again")),
    Case("Bulk results without Sforce-Locator", fault("no_locator", r"/results"), 3,
         ("has no Sforce-Locator header", "Run again"), connection=BULK),
    Case("Bulk results with a malformed locator", fault("bad_locator", r"/results"), 3,
         ("malformed Sforce-Locator header", "Run again"), connection=BULK),
    Case("Bulk results without a record count", fault("no_record_count", r"/results"), 3,
         ("Sforce-NumberOfRecords", "Run again"), connection=BULK),
    # -- write answers that do not match the records sent --
    Case("write answer one result short",
         fault("fewer_results", WRITE, fresh_crm=True), 1,
         ("NO_RESULT", "whether it was written is not known")),
    Case("write answer naming other ids",
         fault("other_ids", WRITE, fresh_crm=True), 1,
         ("NO_RESULT",)),
    Case("write answer with one result too many",
         fault("more_results", WRITE, fresh_crm=True), 0, ("succeeded",)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile_record(bench: Bench, case: Case) -> None:
    project, record_id, text = run_case(bench, case)
    check_named(project, record_id, text, case)


def test_mismatched_answer_is_not_counted_as_written(bench: Bench) -> None:
    """A Collections answer that names other ids: no record is taken as written."""
    project = bench.fresh()
    refill = bench.clear_outputs()
    bench.server.faults.inject("other_ids", times=1, path=r"/composite/sobjects")
    try:
        done = vs("run", "--as-of", AS_OF, "--json", cwd=project)
    finally:
        bench.server.faults.clear()
        refill()
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    unknown = {r["record_id"] for r in report["rejected"] if r["code"] == "NO_RESULT"}
    assert unknown, "the records of the mismatched answer are reported"
    assert not unknown & set(_written_ids(project, report["run_id"]))


def _written_ids(project: Path, run_id: int) -> list[str]:
    run = latest_run(project)
    assert run["id"] == run_id
    return [str(r["record_id"]) for r in run["results"] if r["ok"]]


def test_integer_field_is_not_rewritten_every_run(bench: Bench) -> None:
    """A score mapped to a whole-number field: the second run writes nothing."""
    make = field_size("Account", "Value_Score__c", 3, 0)
    _, undo = make(bench)
    try:
        project = bench.fresh()
        first = vs_json("run", "--as-of", AS_OF, cwd=project)
        assert first["written"] > 0
        second = vs_json("run", "--as-of", AS_OF, cwd=project)
        assert second["objects"]["accounts"]["fields_changed"] == 0, second["field_changes"]
        assert second["written"] == 0
    finally:
        undo()


def test_purged_accounts_leave_the_mirror_on_a_full_read(bench: Bench) -> None:
    """A record purged from the recycle bin never comes back through queryAll; `run --full`
    (and the weekly reconciliation) removes it from the mirror."""
    project = bench.fresh()
    vs_json("run", "--as-of", AS_OF, cwd=project)
    records = bench.records("opportunities")
    victim = bench.ids("opportunities", 1, offset=10)[0]
    kept = records.pop(victim)
    try:
        vs_json("run", "--as-of", AS_OF, cwd=project)
        assert victim in mirror_ids(project, "opportunities")  # incremental: never seen
        full = vs_json("run", "--as-of", AS_OF, "--full", cwd=project)
        assert full["objects"]["opportunities"]["deleted"] >= 1
        assert victim not in mirror_ids(project, "opportunities")
    finally:
        records[victim] = kept


def test_check_lists_picklist_values_the_mapping_does_not_cover(bench: Bench) -> None:
    picklist = bench.store().table("Opportunity").fields["Type"].picklist
    picklist.append("Partner Referral")
    try:
        done = vs("check", cwd=bench.fresh())
    finally:
        picklist.remove("Partner Referral")
    text = " ".join(done.stdout.split())
    assert done.returncode == 1, done.stdout + done.stderr
    assert "objects.opportunities.values.type" in text and "'Partner Referral'" in text
    assert "Traceback" not in done.stderr


def test_rates_from_the_org_convert_finance(bench: Bench) -> None:
    """rates.kind: crm reads CurrencyType: `check` is green and the run goes through; an
    org with no rates is refused by `check` and stops `run` before any write."""
    project = bench.fresh()
    set_rates_kind(project, "crm")
    assert vs("check", cwd=project).returncode == 0
    done = vs_json("run", "--as-of", AS_OF, cwd=project)
    assert done["status"] == "succeeded"
    types = bench.store().table("CurrencyType")
    kept = dict(types.records)
    types.records.clear()  # a single-currency org: no rates to read
    try:
        empty = bench.fresh()
        set_rates_kind(empty, "crm")
        checked = vs("check", cwd=empty)
        assert checked.returncode == 1 and "rates.kind" in checked.stdout
        writes = len(bench.writes)
        stopped = vs("run", "--as-of", AS_OF, cwd=empty)
        assert stopped.returncode == 2 and "rates.kind: file" in " ".join(stopped.stderr.split())
        assert "Traceback" not in stopped.stderr and len(bench.writes) == writes
    finally:
        types.records.update(kept)


def test_a_non_finite_value_mid_population_writes_nothing(bench: Bench) -> None:
    """1e308 in one customer's finance rows makes that account's lifetime value infinite
    halfway through the population: every output is checked before the first write, so
    the run stops with nothing written (no half-pushed run, no SIGKILL needed)."""
    refill = bench.clear_outputs()
    project = bench.fresh()
    path = project / "mappings" / "finance.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    col, erp = header.index("revenue"), header.index("erp_customer_id")
    customers = sorted({row.split(",")[erp] for row in lines[1:]})
    customer = customers[len(customers) // 2]  # mid-population
    out = [lines[0]]
    for row in lines[1:]:
        cells = row.split(",")
        if cells[erp] == customer:
            cells[col] = "1e308"
        out.append(",".join(cells))
    path.write_text("\n".join(out) + "\n")
    # The finance side quarantines amounts beyond quarantine.max_amount (1e12) as absurd;
    # raised here so that 1e308 reaches the engine and overflows its sums.
    finance = project / "mappings" / "finance.yaml"
    doc = yaml.safe_load(finance.read_text())
    doc.setdefault("quarantine", {})["max_amount"] = 1.0e308
    finance.write_text(yaml.safe_dump(doc, sort_keys=False))
    writes = len(bench.writes)
    try:
        done = vs("run", "--as-of", AS_OF, cwd=project)
    finally:
        refill()
    message = " ".join(done.stderr.split())
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not a finite number" in message and "nothing was written" in message
    assert "Traceback" not in done.stderr
    assert len(bench.writes) == writes
    run = latest_run(project)
    assert run["status"] == "failed"
    assert any(r["code"] == "NON_FINITE" for r in run["left_out"])
    assert run["left_out"][0]["record_id"] in message


def test_runs_show_and_the_health_section_list_set_aside_records(bench: Bench) -> None:
    """`runs show` lists each set-aside record with field, value, code and reason; the
    report's health data counts them by object, field and code."""
    project = bench.fresh()
    record_id, undo = bench.put("tickets", "Priority", "Critical")
    try:
        assert vs("run", "--as-of", AS_OF, cwd=project).returncode == 1
    finally:
        undo()
    run_id = vs_json("runs", "list", cwd=project)[0]["id"]
    shown = vs_json("runs", "show", str(run_id), cwd=project)
    assert shown["status"] == "succeeded_with_rejections"
    [row] = [r for r in shown["left_out"] if r["record_id"] == record_id]
    assert (row["object"], row["field"], row["value"], row["code"]) == (
        "tickets", "Priority", "Critical", "UNMAPPED_VALUE"
    )  # fmt: skip
    assert "objects.tickets.values.priority" in row["message"]
    run = latest_run(project)
    h = health([run], pd.DataFrame(run["left_out"]), None)
    assert h.runs.loc[0, "set_aside"] == 1
    assert h.rejected.to_dict("records") == [
        {"object": "tickets", "field": "Priority", "code": "UNMAPPED_VALUE", "records": 1}
    ]
