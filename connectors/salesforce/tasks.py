"""Salesforce Tasks for account owners: sObject Collections create, 200 records a call;
and the owners' e-mail addresses (User), for digests sent to each account manager.

`POST /composite/sobjects` with `allOrNone: false` answers one SaveResult per record in
input order (docs/crm-wire.md §A6 for the collections shape; the same resource creates
with POST). A Task hangs on the Account through `WhatId` and is assigned with `OwnerId`;
the external key is the last line of its Description, so people (and support) can tell
which migration it came from. Per-record failures come back as data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import partial
from typing import Any

from connectors.base import TaskResult, TaskSpec
from connectors.salesforce.client import SalesforceApi

COLLECTION_SIZE = 200
USERS_PER_QUERY = 200
"""Ids per `User` query (keeps the SOQL well under its 100,000-character limit)."""
_USER_ID = re.compile(r"005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")
PRIORITY = {"high": "High", "normal": "Normal", "low": "Low"}
KEY_PREFIX = "valuesync key: "


def task_record(task: TaskSpec) -> dict[str, Any]:
    """The Task sObject of one TaskSpec."""
    record: dict[str, Any] = {
        "attributes": {"type": "Task"},
        "WhatId": task.account_id,
        "Subject": task.subject[:255],
        "Description": f"{task.body}\n\n{KEY_PREFIX}{task.external_key}"[:32000],
        "ActivityDate": task.due.isoformat(),
        "Status": "Not Started",
        "Priority": PRIORITY[task.priority],
    }
    if task.owner_id:
        record["OwnerId"] = task.owner_id
    return record


def create_tasks(api: SalesforceApi, tasks: Sequence[TaskSpec]) -> TaskResult:
    """Create every task in chunks of 200; SaveResults matched back by position."""
    result = TaskResult()
    if not tasks:
        return result
    api.transport.require(math.ceil(len(tasks) / COLLECTION_SIZE), "create tasks")
    for start in range(0, len(tasks), COLLECTION_SIZE):
        chunk = list(tasks[start : start + COLLECTION_SIZE])
        body = {"allOrNone": False, "records": [task_record(t) for t in chunk]}
        saved = api.call("collections create Task", partial(_post_collection, body=body))
        result.calls += 1
        for task, res in zip(chunk, saved or [], strict=False):
            if res.get("success"):
                result.created[task.external_key] = str(res.get("id"))
            else:
                errors = res.get("errors") or [{}]
                first = errors[0]
                code = first.get("statusCode", "UNKNOWN")
                result.failed[task.external_key] = f"{code}: {first.get('message', '')}"[:500]
        for task in chunk[len(saved or []) :]:
            result.failed[task.external_key] = "no SaveResult for this record"
    return result


def _post_collection(sf: Any, body: dict[str, Any]) -> Any:
    """sObject Collections create; simple-salesforce has no helper (docs/crm-wire.md §A6)."""
    return sf.restful("composite/sobjects", method="POST", json=body)


def owner_emails(api: SalesforceApi, owner_ids: Sequence[str]) -> dict[str, str]:
    """Owner (User) id -> e-mail address of the active users among `owner_ids`.

    Only well-formed User ids go into the query (they are quoted into SOQL); 15- and
    18-character spellings of one id both find it (docs/crm-wire.md §A13)."""
    wanted = sorted({i for i in owner_ids if _USER_ID.fullmatch(i)})
    found: dict[str, str] = {}
    for start in range(0, len(wanted), USERS_PER_QUERY):
        chunk = wanted[start : start + USERS_PER_QUERY]
        ids = ", ".join(f"'{i}'" for i in chunk)
        text = f"SELECT Id, Email FROM User WHERE IsActive = true AND Id IN ({ids})"
        answer = api.call("query User", partial(_query_all, text=text))
        by_prefix = {i[:15]: i for i in chunk}
        for row in answer.get("records") or []:
            uid, email = str(row.get("Id") or ""), row.get("Email")
            asked = by_prefix.get(uid[:15])
            if asked and email:
                found[asked] = str(email)
    return found


def _query_all(sf: Any, text: str) -> Any:
    return sf.query_all(text)
