"""The connector of a project connection: the one place that maps `crm:` to a class."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import assert_never

from connectors.base import CrmConnector
from mappings.crm import CrmMapping
from mappings.project import (
    Connection,
    HubSpotProjectConnection,
    SalesforceProjectConnection,
)

SYSTEMS = ("salesforce", "hubspot")
"""The CRMs a project connection may name (`crm:`)."""


def build_connector(
    connection: Connection,
    mapping: CrmMapping,
    *,
    mapping_path: Path,
    env: Mapping[str, str] | None = None,
) -> CrmConnector:
    """The CRM connector of `connection`, its secrets read from `env` (default os.environ).

    The vendor client library is imported here, on first use, not when valuesync starts.
    """
    match connection:
        case SalesforceProjectConnection():
            from connectors.salesforce.connector import SalesforceConnector

            return SalesforceConnector(
                connection.salesforce, mapping, mapping_path=mapping_path, env=env
            )
        case HubSpotProjectConnection():
            from connectors.hubspot.connector import HubSpotConnector

            return HubSpotConnector(connection.hubspot, mapping, env=env)
        case _:
            assert_never(connection)
