"""The sandbox HubSpot API: all `/crm/...` routes for one portal (docs/crm-wire.md part B)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from connectors.sandbox.hubspot import (
    associations,
    batch,
    imports,
    objects,
    owners,
    properties,
    search,
)
from connectors.sandbox.hubspot.portal import HubSpotPortal


def routes(portal: HubSpotPortal) -> list[BaseRoute]:
    """Every HubSpot route; the more specific object paths (batch, search) come first."""
    return [
        *batch.routes(portal),
        *search.routes(portal),
        *objects.routes(portal),
        *associations.routes(portal),
        *properties.routes(portal),
        *imports.routes(portal),
        *owners.routes(portal),
    ]
