"""Links to a record's page in the CRM, from the connection settings (no API call).

Salesforce: `{instance}/lightning/r/{Object}/{Id}/view` (the Lightning record page; without
an instance URL, the My Domain or login domain's Lightning host). HubSpot record pages
need the portal id, which the connection settings do not hold: no link there.
"""

from __future__ import annotations

from typing import Any


def record_url(system: str, settings: Any, crm_object: str, record_id: str) -> str | None:
    """The record's page in the CRM, or None when it cannot be told from the settings."""
    if system != "salesforce" or settings is None:
        return None
    base = getattr(settings, "instance_url", None)
    if not base:
        base = f"https://{getattr(settings, 'domain', 'login')}.lightning.force.com"
    return f"{base}/lightning/r/{crm_object}/{record_id}/view"
