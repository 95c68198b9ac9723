"""HubSpot tasks for company owners: CRM v3 `tasks` batch create, 100 inputs a call; and
the owners' e-mail addresses (owners API), for digests sent to each account manager.

Each input carries the task properties (`hs_timestamp` is the due time and is required,
`hubspot_owner_id` assigns it) and an association to the company with HubSpot's
task-to-company type 192 (HUBSPOT_DEFINED, docs/crm-wire.md §B14). The batch answers 201,
or 207 with errors (§B3); a VALIDATION_ERROR refuses the whole batch, which is then
split until the bad input stands alone and fails as data. The external key is the last
line of `hs_task_body`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Any

from connectors.base import TaskResult, TaskSpec
from connectors.hubspot.client import HubSpotApi
from mappings.errors import FatalApiError

BATCH = 100
TASK_TO_COMPANY = 192
PRIORITY = {"high": "HIGH", "normal": "MEDIUM", "low": "LOW"}
KEY_PREFIX = "valuesync key: "


def task_input(task: TaskSpec) -> dict[str, Any]:
    """The batch-create input of one TaskSpec."""
    due = datetime.combine(task.due, time(9, 0), tzinfo=UTC)
    properties = {
        "hs_timestamp": due.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "hs_task_subject": task.subject[:255],
        "hs_task_body": f"{task.body}\n\n{KEY_PREFIX}{task.external_key}",
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": PRIORITY[task.priority],
        "hs_task_type": "TODO",
    }
    if task.owner_id:
        properties["hubspot_owner_id"] = task.owner_id
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_COMPANY}
    return {
        "properties": properties,
        "associations": [{"to": {"id": task.account_id}, "types": [spec]}],
    }


def create_tasks(api: HubSpotApi, tasks: Sequence[TaskSpec]) -> TaskResult:
    """Create every task in batches of 100; results matched back by their external key."""
    result = TaskResult()
    for start in range(0, len(tasks), BATCH):
        _create(api, list(tasks[start : start + BATCH]), result)
    return result


def _create(api: HubSpotApi, chunk: list[TaskSpec], result: TaskResult) -> None:
    """One batch; a whole-batch refusal (VALIDATION_ERROR) is split in halves until the
    bad inputs stand alone, so one bad company id does not lose the other 99 tasks."""
    body = {"inputs": [task_input(t) for t in chunk]}
    result.calls += 1
    try:
        answer = api.call_json(
            "write",
            "batch create tasks",
            api.client.crm.objects.tasks.batch_api.create_with_http_info,
            batch_input_simple_public_object_batch_input_for_create=body,
            expect=(201, 207),
        )
    except FatalApiError as exc:
        if len(chunk) > 1 and exc.status == 400:
            half = len(chunk) // 2
            _create(api, chunk[:half], result)
            _create(api, chunk[half:], result)
            return
        for t in chunk:
            result.failed[t.external_key] = str(exc)[:500]
        return
    by_key = {}
    for rec in answer.get("results") or []:
        text = str((rec.get("properties") or {}).get("hs_task_body") or "")
        by_key[text.rpartition(KEY_PREFIX)[2].strip()] = str(rec.get("id"))
    errors = answer.get("errors") or [{}]
    for t in chunk:
        if t.external_key in by_key:
            result.created[t.external_key] = by_key[t.external_key]
        else:
            result.failed[t.external_key] = str(errors[0].get("message", "not created"))[:500]


OWNERS_PAGE = 100
MAX_OWNER_PAGES = 1_000


def owner_emails(api: HubSpotApi, owner_ids: Sequence[str]) -> dict[str, str]:
    """Owner id -> e-mail address of the active owners among `owner_ids`, from
    `GET /crm/v3/owners/` read page by page (docs/crm-wire.md §B15)."""
    wanted = set(owner_ids)
    found: dict[str, str] = {}
    after: str | None = None
    for _ in range(MAX_OWNER_PAGES):
        kwargs: dict[str, Any] = {"limit": OWNERS_PAGE}
        if after:
            kwargs["after"] = after
        page = api.call_json(
            "read", "list owners", api.client.crm.owners.owners_api.get_page_with_http_info,
            **kwargs,
        )  # fmt: skip
        for owner in page.get("results") or []:
            oid, email = str(owner.get("id") or ""), owner.get("email")
            if oid in wanted and email and not owner.get("archived"):
                found[oid] = str(email)
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after or len(found) == len(wanted):
            return found
    raise FatalApiError(
        "the owners list did not end; stopping instead of looping",
        system="hubspot", operation="list owners",
    )  # fmt: skip
