"""Pulling through the connector: full reads, incremental search windows, associations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from connectors.base import Cursor

from .conftest import BASE


def _all(pages):
    frames = [p.records for p in pages if len(p.records)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def test_full_read_returns_every_live_record_typed_and_archived_ones_as_deletions(portal, connect):
    ids = portal.companies(250)
    portal.record("companies", ids[7])["_archived"] = True
    conn = connect()

    pages = list(conn.pull("accounts"))
    frame = _all(pages)

    assert sorted(frame["account_id"]) == sorted(set(ids) - {ids[7]})
    assert pages[-1].deleted_ids == (ids[7],)
    assert pages[-1].cursor is not None and all(p.cursor is None for p in pages[:-1])
    assert str(frame["employees"].dtype) == "Int64"
    assert str(frame["annual_revenue"].dtype) == "Float64"
    assert str(frame["modified_at"].dtype) == "datetime64[us, UTC]"
    assert conn.calls["read"] == 3 + 1  # 250 records / 100 per page, then the archived list


def test_incremental_pull_reads_only_what_changed_since_the_cursor(portal, connect):
    portal.companies(30)  # stamps BASE .. BASE+29 min
    conn = connect()
    cursor = Cursor(BASE + timedelta(minutes=20))

    pages = list(conn.pull("accounts", since=cursor))
    frame = _all(pages)

    # the 60 s overlap re-reads the record stamped exactly one minute before the cursor
    assert sorted(frame["account_id"].astype(int)) == list(range(20, 31))
    assert pages[-1].cursor.modified_at > cursor.modified_at
    assert conn.calls["read"] == 0 and conn.calls["search"] == 1


def test_deals_tickets_and_invoices_get_account_id_from_their_company(portal, connect):
    companies = portal.companies(3)
    deals = portal.deals(5, company=companies[1])
    tickets = portal.store.insert_many(
        "tickets",
        [{"hs_ticket_priority": "HIGH", "createdate": BASE, "hs_lastmodifieddate": BASE}],
    )
    invoices = portal.store.insert_many(
        "invoices",
        [
            {
                "hs_invoice_status": "voided",
                "hs_amount_billed": 12.5,
                "hs_invoice_date": date(2024, 1, 2),
                "hs_lastmodifieddate": BASE,
            }
        ],
    )
    portal.link("tickets", tickets, companies[2])
    portal.link("invoices", invoices, companies[0])
    conn = connect()

    opp = _all(conn.pull("opportunities"))
    tic = _all(conn.pull("tickets"))
    inv = _all(conn.pull("invoices"))

    assert set(opp["opportunity_id"]) == set(deals)
    assert set(opp["account_id"]) == {companies[1]}
    assert opp["is_won"].tolist() == [False, True, False, True, False]
    assert tic.loc[0, "account_id"] == companies[2] and tic.loc[0, "priority"] == "high"
    assert inv.loc[0, "account_id"] == companies[0] and inv.loc[0, "status"] == "void"
    assert inv.loc[0, "issue_date"] == pd.Timestamp("2024-01-02")


@pytest.mark.parametrize("limit", [500, 1], ids=["embedded", "embedded-paged"])
def test_a_full_read_takes_the_primary_company_from_the_list_pages(portal, connect, limit):
    low, high = portal.companies(2)
    deal = portal.deals(1)[0]
    portal.link("deals", [deal], high)  # the first link is the primary one
    portal.link("deals", [deal], low)
    single = portal.deals(1, company=low)[0]
    none = portal.deals(1)[0]
    portal.server.hs.inline_association_limit = limit
    conn = connect()

    frame = _all(conn.pull("opportunities")).set_index("opportunity_id")

    assert frame.loc[deal, "account_id"] == high  # primary, not the lowest id
    assert frame.loc[single, "account_id"] == low
    assert pd.isna(frame.loc[none, "account_id"])
    if limit > 2:  # every link came embedded: no association reads at all
        assert conn.calls["associations"] == 0
    else:  # the paged record (and only it) was read through the v4 batch read
        assert conn.calls["associations"] == 1


@pytest.mark.parametrize("n_deals", [350, 1_200], ids=["350-deals", "1200-deals-paged"])
def test_a_company_gets_every_associated_deal(portal, connect, n_deals):
    company = portal.companies(1)[0]
    others = portal.companies(2)
    deals = portal.deals(n_deals, company=company)
    portal.deals(3, company=others[0])
    conn = connect()

    refreshed = _all(conn.pull_associations("opportunities"))
    pulled = _all(conn.pull("opportunities"))

    mine = refreshed[refreshed["account_id"] == company]
    assert sorted(mine["opportunity_id"]) == sorted(deals)
    assert (pulled.set_index("opportunity_id").loc[deals, "account_id"] == company).all()
    # association reads page 500 targets per record: 1200 deals need 3 reads of one company
    assert conn.calls["associations"] >= (3 if n_deals > 1000 else 1)


def test_association_change_without_modified_bump_is_caught_by_the_refresh(portal, connect):
    a, b = portal.companies(2)
    deal = portal.deals(1, company=a)[0]
    conn = connect()
    assert _all(conn.pull_associations("deals"))["account_id"].tolist() == [a]

    links = portal.store.hubspot.associations
    links.remove("deals", deal, "companies", a)
    links.add("deals", deal, "companies", b)

    assert _all(conn.pull_associations("deals"))["account_id"].tolist() == [b]


def test_a_full_page_of_identical_stamps_is_read_exactly_once(portal, connect):
    same = BASE + timedelta(minutes=5)
    ids = portal.companies(450, stamp=lambda i: same if i < 430 else BASE + timedelta(hours=1))
    conn = connect()

    frame = _all(conn.pull("accounts", since=Cursor(BASE)))

    assert sorted(frame["account_id"]) == sorted(ids)
    assert frame["account_id"].is_unique


def test_a_record_modified_mid_pull_does_not_make_another_one_skip(portal, connect):
    ids = portal.companies(600, stamp=lambda i: BASE + timedelta(seconds=i))
    conn = connect()
    pages = conn.pull("accounts", since=Cursor(BASE))
    first = next(pages)
    # a record already read changes now: it leaves the window; offsets would shift
    portal.record("companies", first.records["account_id"].iloc[0])["hs_lastmodifieddate"] = (
        datetime.now(UTC) + timedelta(days=1)
    )
    portal.server.hs.touched()
    rest = _all(pages)

    seen = set(first.records["account_id"]) | set(rest["account_id"])
    assert seen == set(ids)
