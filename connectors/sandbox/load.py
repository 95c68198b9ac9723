"""Load canonical sample data into a sandbox org (Salesforce) or portal (HubSpot) store.

Names come from connectors/sandbox/fieldmap.py; value types follow each target field's
definition in the store (salesforce/schema.py, hubspot/schema.py). Columns are turned
into Python values once per column (not per cell), then zipped into record dicts and
inserted in bulk, so 100,000 accounts with their related records load in seconds.
"""

from __future__ import annotations

from datetime import UTC, date
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from connectors.sandbox.fieldmap import HUBSPOT, SALESFORCE, SideMap
from connectors.sandbox.hubspot.owners import HS_OWNER_BASE
from connectors.sandbox.sampledata import SampleData, generate
from connectors.sandbox.sampledata_people import OWNERS
from connectors.sandbox.store import Record, Store

SF_USER_ID = "005000000000001AAA"
"""The org's seeded admin (salesforce/schema.py USER_ID): creator of every seeded record."""
DATE_TYPES = {"date"}
DATETIME_TYPES = {"datetime"}
INT_TYPES = {"int"}
FLOAT_TYPES = {"double", "currency", "percent", "number"}


def py_column(s: pd.Series, target: str) -> list[Any]:
    """One canonical column as Python values of a field type (None for empty), in bulk."""
    missing = s.isna().to_numpy()
    if target in DATETIME_TYPES and pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dtype, "tz", None) is None:  # a date column into a datetime property
            s = s.dt.tz_localize(UTC)
        values = s.dt.tz_convert(UTC).dt.to_pydatetime()
    elif target in DATE_TYPES and pd.api.types.is_datetime64_any_dtype(s.dtype):
        return list(s.to_numpy().astype("datetime64[D]").tolist())  # NaT -> None
    elif target in INT_TYPES or (target == "number" and pd.api.types.is_integer_dtype(s.dtype)):
        return list(s.astype("Int64").astype(object).where(~missing, None).tolist())
    elif target in FLOAT_TYPES:
        values = s.astype(float).to_numpy(dtype=object)
    elif pd.api.types.is_bool_dtype(s.dtype):
        return list(s.astype(bool).tolist())
    else:
        values = s.to_numpy(dtype=object)
    if missing.any():
        values = np.where(missing, None, values)
    return list(values)


Cache = dict[tuple[int, str, str], tuple[pd.DataFrame, list[Any]]]
"""(frame id, column, field type) -> (the frame, kept alive so its id stays unique; values)."""


def _py_cached(frame: pd.DataFrame, col: str, target: str, cache: Cache | None) -> list[Any]:
    """`py_column` of an unmapped column, converted once for both CRM sides."""
    if cache is None:
        return py_column(frame[col], target)
    key = (id(frame), col, target)
    if key not in cache:
        cache[key] = (frame, py_column(frame[col], target))
    return cache[key][1]


def _columns(
    frame: pd.DataFrame,
    side: SideMap,
    store: Store,
    maps: dict[str, dict[str, str]] | None = None,
    cache: Cache | None = None,
) -> dict[str, Any]:
    """field -> Python values for every mapped canonical column but the key.

    `maps` translates further columns, e.g. account_id -> the CRM's account ids.
    """
    table = store.table(side.object)
    maps = {**side.value_maps, **(maps or {})}
    key = next(iter(side.columns))
    out: dict[str, Any] = {}
    for col, fname in side.columns.items():
        if col == key or col not in frame.columns or fname not in table.fields:
            continue
        ftype = table.fields[fname].type
        if col in maps:
            out[fname] = py_column(frame[col].map(maps[col]), ftype)
        else:
            out[fname] = _py_cached(frame, col, ftype, cache)
    return out


def _records(cols: dict[str, Any], n: int) -> list[Record]:
    """Zip column lists (or constants) into record dicts (C-level map/zip: ~2 µs a record)."""
    series = [v if isinstance(v, list) else repeat(v, n) for v in cols.values()]
    return list(map(dict, map(zip, repeat(list(cols)), zip(*series, strict=False))))


def _insert(store: Store, obj: str, n: int, cols: dict[str, Any], id_field: str) -> list[str]:
    """Insert `n` rows under fresh ids of `obj` (also written to `id_field`); return the ids.

    Bulk path: records go straight into the table's dict under the store lock, which is
    what `Store.insert_many` does row by row.
    """
    table = store.table(obj)
    with store.lock:
        ids = table.new_ids(n)
        id_values: list[Any] = ids if id_field == "Id" else list(map(int, ids))
        rows = _records({"_id": ids, id_field: id_values, **cols}, n)
        table.records.update(zip(ids, rows, strict=True))
    return ids


def _invoice_stamps(inv: pd.DataFrame, cache: Cache | None) -> tuple[list[Any], list[Any]]:
    """Invoices carry no canonical stamps: created on the issue day, modified when paid."""
    key = (id(inv), "_stamps", "datetime")
    if cache is not None and key in cache:
        return cache[key][1]  # type: ignore[return-value]
    created = inv["issue_date"] + pd.Timedelta(hours=8)
    modified = inv["paid_date"].fillna(inv["issue_date"]) + pd.Timedelta(hours=12)
    stamps = (py_column(created, "datetime"), py_column(modified, "datetime"))
    if cache is not None:
        cache[key] = (inv, stamps)  # type: ignore[assignment]
    return stamps


# --- Salesforce -----------------------------------------------------------------------


def load_salesforce(
    store: Store, data: SampleData, *, cache: Cache | None = None
) -> dict[str, str]:
    """Insert accounts, opportunities, cases and invoices into an org; key -> Salesforce Id.

    `cache` (any dict) shares converted columns with a `load_hubspot` of the same data.
    """
    owners = _sf_owners(store)
    sf = SALESFORCE
    acc = data.accounts
    cols = _columns(acc, sf["accounts"], store, {"owner_id": owners}, cache)
    ids = _sf_insert(store, sf["accounts"], acc, {**cols, "Type": "Customer - Direct"})
    acc_owner = acc.set_index("account_id")["owner_id"].map(owners)
    opp = data.opportunities
    cols = _columns(opp, sf["opportunities"], store, {"account_id": ids}, cache)
    cols["OwnerId"] = py_column(opp["account_id"].map(acc_owner), "string")
    cols["Probability"] = np.select(
        [opp["is_won"].to_numpy(), opp["is_closed"].to_numpy()], [100.0, 0.0], 50.0
    ).tolist()
    out = dict(ids)
    out.update(_sf_insert(store, sf["opportunities"], opp, cols))
    out.update(
        _sf_insert(store, sf["tickets"], data.tickets, _case_columns(store, data, ids, cache))
    )
    out.update(
        _sf_insert(
            store, sf["invoices"], data.invoices, _sf_invoice_columns(store, data, ids, cache)
        )
    )
    return out


def _sf_insert(
    store: Store, side: SideMap, frame: pd.DataFrame, cols: dict[str, Any]
) -> dict[str, str]:
    """Fill the system fields every Salesforce record has, insert, and map keys to Ids."""
    cols.setdefault("LastModifiedDate", cols.get("SystemModstamp"))
    cols.update({"IsDeleted": False, "CreatedById": SF_USER_ID, "LastModifiedById": SF_USER_ID})
    cols.setdefault("OwnerId", SF_USER_ID)
    keys = frame[next(iter(side.columns))].tolist()
    ids = _insert(store, side.object, len(keys), cols, "Id")
    return dict(zip(keys, ids, strict=True))


def _sf_owners(store: Store) -> dict[str, str]:
    """One active sales user per canonical owner key (created once per org)."""
    users = {r.get("Username"): r["Id"] for r in store.iter("User")}
    now = store.clock.now()
    out: dict[str, str] = {}
    for i, key in enumerate(OWNERS, start=1):
        username = f"rep{i:02d}@sandbox.valuesync.test"
        if username not in users:
            t = store.table("User")
            uid = t.new_id()
            store.insert_many("User", [{
                "_id": uid, "Id": uid, "Name": f"Sales Rep {i:02d}", "Username": username,
                "Email": username, "IsActive": True, "ProfileId": None, "IsDeleted": False,
                "CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now,
                "CreatedById": SF_USER_ID, "LastModifiedById": SF_USER_ID,
            }])  # fmt: skip
            users[username] = uid
        out[key] = users[username]
    return out


def _case_columns(
    store: Store, data: SampleData, acc_ids: dict[str, str], cache: Cache | None
) -> dict[str, Any]:
    t = data.tickets
    cols = _columns(t, SALESFORCE["tickets"], store, {"account_id": acc_ids}, cache)
    closed = t["closed_at"].notna().to_numpy()
    status = np.where(closed, "Closed", np.where(t["is_escalation"].to_numpy(), "Escalated", "New"))
    start = len(store.table("Case").records) + 1
    subject = _ticket_subjects(data)
    cols.update(
        {
            "Status": status.tolist(),
            "IsClosed": closed.tolist(),
            "CaseNumber": [f"{i:08d}" for i in range(start, start + len(t))],
            "Subject": subject,
            "Origin": "Email",
        }
    )
    return cols


def _ticket_subjects(data: SampleData) -> list[str]:
    """ "Special request from Alpha Precision GmbH": category and company, per ticket."""
    t = data.tickets
    company = t["account_id"].map(data.accounts.set_index("account_id")["name"])
    return list(
        (t["category"].str.replace("_", " ").str.capitalize() + " from " + company).tolist()
    )


def _sf_invoice_columns(
    store: Store, data: SampleData, acc_ids: dict[str, str], cache: Cache | None
) -> dict[str, Any]:
    inv = data.invoices
    cols = _columns(inv, SALESFORCE["invoices"], store, {"account_id": acc_ids}, cache)
    created, modified = _invoice_stamps(inv, cache)
    cols.update({"Name": ("INV-" + inv["invoice_id"].str[1:]).tolist()})
    cols.update({"CreatedDate": created, "SystemModstamp": modified})
    return cols


# --- HubSpot --------------------------------------------------------------------------


def load_hubspot(store: Store, data: SampleData, *, cache: Cache | None = None) -> dict[str, str]:
    """Insert companies, deals, tickets and invoices (with company associations); key -> id.

    `cache` (any dict) shares converted columns with a `load_salesforce` of the same data.
    """
    hs = HUBSPOT
    owners = {k: str(HS_OWNER_BASE + i) for i, k in enumerate(OWNERS, start=1)}
    acc = data.accounts
    cols = _columns(acc, hs["accounts"], store, {"owner_id": owners}, cache)
    ids = _hs_insert(store, hs["accounts"], acc, cols)
    acc_owner = acc.set_index("account_id")["owner_id"].map(owners)
    opp = data.opportunities
    cols = _columns(opp, hs["opportunities"], store, None, cache)
    cols["pipeline"] = "default"
    cols["hubspot_owner_id"] = py_column(opp["account_id"].map(acc_owner), "string")
    out = dict(ids)
    for name, frame, extra in (
        ("opportunities", opp, cols),
        ("tickets", data.tickets, _hs_ticket_columns(store, data, cache)),
        ("invoices", data.invoices, _hs_invoice_columns(store, data, cache)),
    ):
        rec_ids = _hs_insert(store, hs[name], frame, extra)
        out.update(rec_ids)
        _associate(store, hs[name].object, frame, rec_ids, ids)
    return out


def _hs_insert(
    store: Store, side: SideMap, frame: pd.DataFrame, cols: dict[str, Any]
) -> dict[str, str]:
    cols["_archived"] = False
    keys = frame[next(iter(side.columns))].tolist()
    ids = _insert(store, side.object, len(keys), cols, "hs_object_id")
    return dict(zip(keys, ids, strict=True))


def _hs_ticket_columns(store: Store, data: SampleData, cache: Cache | None) -> dict[str, Any]:
    t = data.tickets
    cols = _columns(t, HUBSPOT["tickets"], store, None, cache)
    closed = t["closed_at"].notna().to_numpy()
    subject = _ticket_subjects(data)
    cols.update(
        {
            "subject": subject,
            "hs_pipeline": "0",
            "hs_pipeline_stage": np.where(closed, "4", "1").tolist(),
        }
    )
    return cols


def _hs_invoice_columns(store: Store, data: SampleData, cache: Cache | None) -> dict[str, Any]:
    inv = data.invoices
    cols = _columns(inv, HUBSPOT["invoices"], store, None, cache)
    created, modified = _invoice_stamps(inv, cache)
    balance = np.where(inv["status"].to_numpy() == "open", inv["amount"].to_numpy(), 0.0)
    cols.update(
        {
            "hs_createdate": created,
            "createdate": created,
            "hs_lastmodifieddate": modified,
            "hs_balance_due": balance.tolist(),
            "hs_number": ("INV-" + inv["invoice_id"].str[1:]).tolist(),
        }
    )
    return cols


def _associate(
    store: Store, obj: str, frame: pd.DataFrame, rec_ids: dict[str, str], acc_ids: dict[str, str]
) -> None:
    """Link each record to its company (both directions), as HubSpot associations v4 do."""
    from connectors.sandbox.hubspot.schema import portal_data

    links = portal_data(store).associations.links
    forward = links.setdefault((obj, "companies"), {})
    backward = links.setdefault(("companies", obj), {})
    companies = frame["account_id"].map(acc_ids)
    keep = companies.notna().to_numpy()
    rids = np.asarray(list(rec_ids.values()), dtype=object)[keep]
    cids = companies[keep].to_numpy(dtype=object)
    codes, uniques = pd.factorize(cids)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    groups = np.split(rids[order], starts[1:])
    with store.lock:  # what Associations.add does both ways, in bulk (fresh record ids)
        forward.update(zip(rids.tolist(), map(dict.fromkeys, zip(cids.tolist())), strict=True))
        for cid, group in zip(uniques[codes[order][starts]].tolist(), groups, strict=True):
            backward.setdefault(cid, {}).update(dict.fromkeys(group.tolist()))


# --- both -----------------------------------------------------------------------------


def build_sandbox(
    accounts: int, seed: int = 7, crm: str = "both", as_of: date | None = None
) -> tuple[Store | None, Store | None, SampleData]:
    """Generate sample data (as of `as_of`, default the generator's fixed date) and load it
    into a new org and/or portal store."""
    if crm not in ("salesforce", "hubspot", "both"):
        raise ValueError(f"crm must be salesforce, hubspot or both, not {crm!r}")
    data = generate(accounts, seed) if as_of is None else generate(accounts, seed, as_of=as_of)
    sf_store = hs_store = None
    cache: Cache = {}
    if crm in ("salesforce", "both"):
        from connectors.sandbox.salesforce.schema import new_org_store

        sf_store = new_org_store()
        load_salesforce(sf_store, data, cache=cache)
    if crm in ("hubspot", "both"):
        from connectors.sandbox.hubspot.schema import new_portal_store

        hs_store = new_portal_store()
        load_hubspot(hs_store, data, cache=cache)
    return sf_store, hs_store, data
