"""The sandbox portal's owners: `GET /crm/v3/owners/` (docs/crm-wire.md §B15).

The sample data assigns companies and deals to twelve sales reps; here they are the
portal's owners, with the same e-mail addresses as the Salesforce sandbox's Users, so a
digest per account manager reaches the same people on both CRMs.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.hubspot.portal import HubSpotPortal, query_bool
from connectors.sandbox.sampledata_people import OWNERS

HS_OWNER_BASE = 70_000_000
"""Owner id of sample owner i is HS_OWNER_BASE + i (i from 1)."""
HS_USER_BASE = 9_000_000
OWNERS_DEFAULT, OWNERS_MAX = 100, 500
STAMP = "2024-01-01T00:00:00.000Z"


def roster() -> list[dict[str, Any]]:
    """Every owner as the owners API answers it."""
    return [
        {
            "id": str(HS_OWNER_BASE + i),
            "email": f"rep{i:02d}@sandbox.valuesync.test",
            "type": "PERSON",
            "firstName": "Sales",
            "lastName": f"Rep {i:02d}",
            "userId": HS_USER_BASE + i,
            "userIdIncludingInactive": HS_USER_BASE + i,
            "createdAt": STAMP,
            "updatedAt": STAMP,
            "archived": False,
        }
        for i in range(1, len(OWNERS) + 1)
    ]


def routes(portal: HubSpotPortal) -> list[BaseRoute]:
    """GET /crm/v3/owners/ (paged by `after`, filtered by `email`; archived: none)."""

    async def listing(request: Request) -> Response:
        denied = portal.guard(request, "read")
        if denied:
            return denied
        try:
            limit = int(request.query_params.get("limit", OWNERS_DEFAULT))
            start = int(request.query_params.get("after") or 0)
        except ValueError:
            return portal.error(400, "VALIDATION_ERROR", "limit and after must be numbers")
        if not 1 <= limit <= OWNERS_MAX:
            return portal.error(400, "VALIDATION_ERROR", f"limit must be 1 to {OWNERS_MAX}")
        owners = [] if query_bool(request, "archived") else roster()
        email = request.query_params.get("email")
        if email:
            owners = [o for o in owners if o["email"].lower() == email.lower()]
        page = owners[start : start + limit]
        body: dict[str, Any] = {"results": page}
        if start + limit < len(owners):
            after = str(start + limit)
            link = f"{portal.base_url}/crm/v3/owners/?after={after}"
            body["paging"] = {"next": {"after": after, "link": link}}
        return portal.json(body)

    return [Route("/crm/v3/owners/", listing, methods=["GET"]),
            Route("/crm/v3/owners", listing, methods=["GET"])]  # fmt: skip
