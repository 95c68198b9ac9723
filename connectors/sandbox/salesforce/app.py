"""All routes of the sandbox Salesforce side."""

from __future__ import annotations

from starlette.routing import BaseRoute

from connectors.sandbox.salesforce import auth, bulk_ingest, bulk_query, query, rest, tooling
from connectors.sandbox.salesforce.org import SalesforceOrg


def routes(org: SalesforceOrg) -> list[BaseRoute]:
    """Every Salesforce route, login included, for one org."""
    return [
        *auth.routes(org),
        *query.routes(org),
        *bulk_query.routes(org),
        *bulk_ingest.routes(org),
        *rest.routes(org),
        *tooling.routes(org),
    ]
