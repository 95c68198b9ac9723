"""Links to a record's page in the CRM, from the connection settings (no API call).

Salesforce: `{instance}/lightning/r/{Object}/{Id}/view` (the Lightning record page; without
an instance URL, the My Domain or login domain's Lightning host). HubSpot:
`https://{ui_domain}/contacts/{portal_id}/record/{objectTypeId}/{id}` (companies are
object type 0-2, deals 0-3), when the connection names its `portal_id`.
"""

from __future__ import annotations

from typing import Any

HUBSPOT_TYPE_IDS = {"companies": "0-2", "deals": "0-3", "contacts": "0-1", "tickets": "0-5"}


def record_url(system: str, settings: Any, crm_object: str, record_id: str) -> str | None:
    """The record's page in the CRM, or None when it cannot be told from the settings."""
    if settings is None:
        return None
    if system == "hubspot":
        portal = getattr(settings, "portal_id", None)
        type_id = HUBSPOT_TYPE_IDS.get(crm_object.lower(), crm_object)
        if not portal:
            return None
        return f"https://{settings.ui_domain}/contacts/{portal}/record/{type_id}/{record_id}"
    if system != "salesforce":
        return None
    base = getattr(settings, "instance_url", None)
    if not base:
        base = f"https://{getattr(settings, 'domain', 'login')}.lightning.force.com"
    return f"{base}/lightning/r/{crm_object}/{record_id}/view"
