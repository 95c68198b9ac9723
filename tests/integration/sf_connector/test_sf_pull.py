"""Pulls through the connector: REST vs Bulk 2.0, cursors, overlap, deletions, typing."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pandas as pd
import pytest

from connectors.base import Cursor
from connectors.sandbox.salesforce.schema import insert_records
from mappings.errors import ConfigError
from tests.integration.sf_connector.conftest import BASE


def frame(pages) -> pd.DataFrame:
    return pd.concat([p.records for p in pages], ignore_index=True)


def by_key(pages) -> pd.DataFrame:
    """The pages' rows in key order (a Bulk job's rows come in no order)."""
    rows = frame(pages)
    return rows.sort_values(rows.columns[0], kind="stable").reset_index(drop=True)


def touch(server, obj: str, ids: list[str], **values) -> None:
    """Change records the way a user would (PATCH via the API stamps SystemModstamp)."""
    table = server.sf.store.table(obj)
    now = server.sf.store.clock.now()
    with server.sf.store.lock:
        for rid in ids:
            table.records[rid].update(values, SystemModstamp=now, LastModifiedDate=now)


def test_rest_and_bulk_produce_identical_typed_frames(org, connect):
    server = org(accounts=250, opportunities=300)
    rest = connect(server, bulk_query_threshold=10_000)
    bulk = connect(server, bulk_query_threshold=100, bulk_query_page=70)
    for table in ("accounts", "opportunities"):
        a, b = list(rest.pull(table)), list(bulk.pull(table))
        assert len(b) > 1, "bulk pages by maxRecords"
        pd.testing.assert_frame_equal(by_key(a), by_key(b))
    assert rest.calls.get("bulk_query", 0) == 0 and rest.calls["query"] == 2
    assert bulk.calls.get("query", 0) == 0 and bulk.calls["bulk_query"] > 0
    accounts = frame(rest.pull("accounts"))
    assert str(accounts["employees"].dtype) == "Int64"
    assert str(accounts["annual_revenue"].dtype) == "Float64"
    assert str(accounts["modified_at"].dtype) == "datetime64[us, UTC]"
    assert accounts["name"].iloc[3] == "Account 3"
    opps = frame(rest.pull("opportunities"))
    assert set(opps["type"]) == {"new", "renewal", "expansion"}, "value map applied"
    assert (
        str(opps["is_won"].dtype) == "boolean" and str(opps["close_date"].dtype) == "datetime64[us]"
    )


def test_each_page_carries_the_cursor_after_it_and_count_comes_first(org, connect):
    server = org(accounts=450)
    sf = connect(server, rest_batch_size=200)
    pages = list(sf.pull("accounts"))
    assert [len(p.records) for p in pages] == [200, 200, 50, 0]
    # The last page holds no rows: its cursor is the org's time when it counted (the
    # sandbox's clock, sent as the Date header), later than the last row's stamp.
    caught_up = pages[-1].cursor
    assert caught_up.modified_at > pages[-2].cursor.modified_at
    now = server.sf.store.clock.now()
    assert now - timedelta(seconds=5) <= caught_up.modified_at <= now
    assert pages[0].cursor == Cursor(
        BASE + timedelta(seconds=199), pages[0].records["account_id"].iloc[-1]
    )
    assert pages[-2].cursor.modified_at == BASE + timedelta(seconds=449)
    assert sf.calls == {"login": 1, "describe": 1, "count": 1, "query": 1, "query_more": 2}


def test_incremental_pull_reads_only_changes_plus_overlap(org, connect):
    server = org(accounts=600)
    sf = connect(server, overlap_seconds=5)
    first = list(sf.pull("accounts"))
    cursor = first[-2].cursor  # where the rows ended (as after a pull stopped there)
    ids = list(frame(first)["account_id"])
    changed = ids[10:210]
    touch(server, "Account", changed, Name="changed")
    again = frame(sf.pull("accounts", since=cursor))
    overlap = {
        ids[i]
        for i in range(600)
        if BASE + timedelta(seconds=i) >= cursor.modified_at - timedelta(seconds=5)
    }
    assert set(again["account_id"]) == set(changed) | overlap
    assert len(again) == 200 + 6
    # From the completed pull's cursor (the org's time) the overlap reaches back from then,
    # not from the last row: only the changes come back.
    assert set(frame(sf.pull("accounts", since=first[-1].cursor))["account_id"]) == set(changed)


def test_same_second_changes_across_a_page_boundary_are_not_lost(org, connect):
    server = org(accounts=300)
    sf = connect(server, rest_batch_size=200, overlap_seconds=0)
    ids = list(frame(sf.pull("accounts"))["account_id"])
    cursor = list(sf.pull("accounts"))[-2].cursor  # the last row's, not the caught-up one
    server.sf.store.clock.offset = timedelta(0)
    same_second = ids[150:260]  # 110 records, one stamp: they straddle the 200-row page boundary
    stamp = server.sf.store.clock.now().replace(microsecond=0)
    with server.sf.store.lock:
        for rid in same_second:
            server.sf.store.table("Account").records[rid].update(SystemModstamp=stamp)
    filler = ids[:150]  # earlier-stamped changes push the same-second block over the boundary
    with server.sf.store.lock:
        for i, rid in enumerate(filler):
            server.sf.store.table("Account").records[rid].update(
                SystemModstamp=stamp - timedelta(seconds=150 - i)
            )
    pages = list(sf.pull("accounts", since=cursor))
    assert len(pages) == 2 and len(pages[0].records) == 200
    # The orchestrator stops after page 1 and resumes from its cursor: nothing is lost.
    resumed = frame(sf.pull("accounts", since=pages[0].cursor))
    got = set(frame(pages[:1])["account_id"]) | set(resumed["account_id"])
    assert set(same_second) <= got
    assert pages[0].cursor.modified_at == stamp


def test_deletions_come_back_as_deleted_ids(org, connect):
    server = org(accounts=20)
    sf = connect(server)
    cursor = list(sf.pull("accounts"))[-1].cursor
    ids = list(server.sf.store.table("Account").records)
    touch(server, "Account", ids[:3], IsDeleted=True)
    pages = list(sf.pull("accounts", since=cursor))
    assert set(pages[-1].deleted_ids) == set(ids[:3])
    assert not set(ids[:3]) & set(frame(pages)["account_id"])


def test_invoices_and_cases_pull_from_their_mapped_objects(org, connect):
    server = org(accounts=5)
    acc = list(server.sf.store.table("Account").records)
    insert_records(server.sf.store, "blng__Invoice__c", [
        {"Name": "INV-1", "blng__Account__c": acc[0], "blng__TotalAmount__c": 120.5,
         "blng__InvoiceStatus__c": "Paid", "CurrencyIsoCode": "EUR",
         "blng__InvoiceDate__c": BASE.date(), "blng__DueDate__c": BASE.date()},
    ])  # fmt: skip
    insert_records(server.sf.store, "Case", [
        {"AccountId": acc[1], "Priority": "High", "Type": "Special Request", "Status": "New",
         "Effort_Hours__c": 2.5},
    ])  # fmt: skip
    sf = connect(server)
    inv = frame(sf.pull("invoices"))
    assert inv.loc[0, "status"] == "paid" and inv.loc[0, "amount"] == 120.5
    cases = frame(sf.pull("tickets"))
    assert cases.loc[0, "priority"] == "high" and cases.loc[0, "category"] == "special_request"


def test_nothing_changed_costs_only_the_count(org, connect):
    server = org(accounts=10)
    sf = connect(server, overlap_seconds=0)
    cursor = list(sf.pull("accounts"))[-1].cursor
    before = sf.calls
    server.sf.store.clock.offset = timedelta(0)
    pages = list(sf.pull("accounts", since=Cursor(cursor.modified_at + timedelta(seconds=1))))
    assert pages == []
    assert {k: v - before.get(k, 0) for k, v in sf.calls.items() if v != before.get(k, 0)} == {
        "count": 1
    }


@pytest.mark.parametrize(
    "fields", [["no_such_field"], ["Name' OR Name != '"], ["Id, (SELECT Id FROM Contacts)"]]
)
def test_unknown_or_hostile_field_names_never_reach_a_query(org, connect, fields):
    server = org(accounts=3)
    sf = connect(server)
    used = server.sf.api_used
    with pytest.raises(ConfigError, match="is not a readable field of Account"):
        list(sf.pull("accounts", fields=fields))
    assert server.sf.api_used - used == 1  # the describe only


@pytest.mark.slow
def test_acceptance_20k_accounts_bulk_first_then_only_changes(org, connect):
    server = org(accounts=20_000, opportunities=60_000)
    sf = connect(server, overlap_seconds=2)
    first = list(sf.pull("accounts"))
    assert sf.calls["bulk_query"] >= 3 and sum(len(p.records) for p in first) == 20_000
    opps = list(sf.pull("opportunities"))
    assert sum(len(p.records) for p in opps) == 60_000
    ids = list(frame(first)["account_id"])
    touch(server, "Account", ids[:200], Name="changed")
    before = dict(sf.calls)
    again = frame(sf.pull("accounts", since=first[-1].cursor))
    # Only the changed ones: the cursor is the org's time when the first pull counted, and
    # nothing else was stamped within the 2 s overlap before it.
    assert set(again["account_id"]) == set(ids[:200]) and len(again) == 200
    assert sf.calls["bulk_query"] == before["bulk_query"], "a small delta goes through REST"


def test_bulk_job_has_no_order_by_and_comes_back_shuffled(org, connect):
    server = org(accounts=250)
    bulk = connect(server, bulk_query_threshold=100, bulk_query_page=70)
    rest = connect(server, bulk_query_threshold=10_000)
    pages = list(bulk.pull("accounts"))
    (soql,) = server.sf.bulk_queries
    assert soql.startswith("SELECT Id, SystemModstamp") and "ORDER BY" not in soql.upper()
    # The sandbox really serves that job out of order: the same query through
    # simple-salesforce's own bulk2 gives the ids unsorted.
    sf = rest.api.sf  # the logged-in client
    chunks = sf.bulk2.Account.query(soql, max_records=70, wait=0)
    ids = [row[0] for chunk in chunks for row in list(csv.reader(io.StringIO(chunk)))[1:]]
    assert len(ids) == 250 and ids != sorted(ids)
    # ... yet the pages hold REST's rows, stored chunk by chunk as they arrive: only the
    # job's last page carries a cursor (no earlier one is safe: an older row may still
    # come), and it is the one REST's ORDER BY gives after its last row.
    ordered = list(rest.pull("accounts"))
    pd.testing.assert_frame_equal(by_key(pages), by_key(ordered))
    assert [len(p.records) for p in pages] == [70, 70, 70, 40, 0]
    assert [p.cursor for p in pages[:3]] == [None, None, None]
    assert pages[-2].cursor == ordered[-2].cursor
    # then the caught-up page: no rows, the org's time when it counted, after the job's
    assert pages[-1].records.empty and pages[-1].cursor.last_id == ""
    assert pages[-1].cursor.modified_at > pages[-2].cursor.modified_at


def test_bulk_rows_sharing_the_max_stamp_give_the_max_id_and_none_are_lost(org, connect):
    server = org(accounts=300)
    sf = connect(server, bulk_query_threshold=50, bulk_query_page=40, overlap_seconds=0)
    ids = sorted(server.sf.store.table("Account").records)
    stamp = BASE + timedelta(days=3)
    tied = ids[5:60:5] + ids[200:260:3]  # spread over the job's shuffled chunks
    with server.sf.store.lock:
        for rid in tied:
            server.sf.store.table("Account").records[rid]["SystemModstamp"] = stamp
    pages = list(sf.pull("accounts"))
    assert len(server.sf.bulk_queries) == 1
    rows = frame(pages)
    assert len(rows) == 300 and rows["account_id"].is_unique
    assert pages[-2].cursor == Cursor(stamp, max(tied))
    # A pull stopped before the job's last chunk moves no cursor: it is read again.
    assert all(page.cursor is None for page in pages[:-2])
    assert astuple(pages[-2].cursor) == max(
        (t.to_pydatetime(), i) for t, i in zip(rows["modified_at"], rows["account_id"], strict=True)
    )
    # Resuming from the job's cursor (>=, no overlap) reads the tied rows again.
    again = frame(sf.pull("accounts", since=pages[-2].cursor))
    assert set(again["account_id"]) == set(tied)


def astuple(cursor: Cursor) -> tuple:
    return (cursor.modified_at, cursor.last_id)
