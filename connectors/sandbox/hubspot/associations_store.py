"""Associations between HubSpot records, kept symmetric (deal->company implies company->deal).

Type ids are HubSpot's HUBSPOT_DEFINED association types
(developers.hubspot.com/docs/guides/api/crm/associations/associations-v4, "Association
type id values"): e.g. deal->company 341 (unlabelled) and 5 (Primary), company->deal
342 and 6. The first company linked to a deal or ticket is its primary company.
"""

from __future__ import annotations

import threading
from typing import Any

# (from, to) -> (unlabelled typeId, primary typeId or None)
TYPE_IDS: dict[tuple[str, str], tuple[int, int | None]] = {
    ("deals", "companies"): (341, 5),
    ("companies", "deals"): (342, 6),
    ("tickets", "companies"): (339, 26),
    ("companies", "tickets"): (340, 25),
    ("invoices", "companies"): (179, None),
    ("companies", "invoices"): (180, None),
    ("invoices", "deals"): (175, None),
    ("deals", "invoices"): (176, None),
    ("deals", "tickets"): (27, None),
    ("tickets", "deals"): (28, None),
    ("tasks", "companies"): (192, None),
    ("companies", "tasks"): (191, None),
}
_SINGLE = {
    "companies": "company", "deals": "deal", "tickets": "ticket", "invoices": "invoice",
    "tasks": "task",
}  # fmt: skip


class Associations:
    """Symmetric links: `links[(from_type, to_type)][from_id]` is an ordered set of to_ids."""

    def __init__(self) -> None:
        self.links: dict[tuple[str, str], dict[str, dict[str, None]]] = {}
        self._lock = threading.RLock()

    def add(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Link two records both ways (idempotent)."""
        with self._lock:
            self._one_way(from_type, from_id, to_type, to_id)
            self._one_way(to_type, to_id, from_type, from_id)

    def _one_way(self, a_type: str, a_id: str, b_type: str, b_id: str) -> None:
        self.links.setdefault((a_type, b_type), {}).setdefault(a_id, {})[b_id] = None

    def remove(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Unlink two records both ways (no error when not linked)."""
        with self._lock:
            self.links.get((from_type, to_type), {}).get(from_id, {}).pop(to_id, None)
            self.links.get((to_type, from_type), {}).get(to_id, {}).pop(from_id, None)

    def targets(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """The ids linked to one record, in link order."""
        return list(self.links.get((from_type, to_type), {}).get(from_id, {}))

    def is_primary(self, from_type: str, from_id: str, to_type: str, to_id: str) -> bool:
        """True for the first company of a deal/ticket (seen from either side)."""
        if to_type == "companies":
            child_type, child_id, company = from_type, from_id, to_id
        elif from_type == "companies":
            child_type, child_id, company = to_type, to_id, from_id
        else:
            return False
        first = next(iter(self.links.get((child_type, "companies"), {}).get(child_id, {})), None)
        return first == company

    def types_v4(
        self, from_type: str, from_id: str, to_type: str, to_id: str
    ) -> list[dict[str, Any]]:
        """`associationTypes` of one link in the v4 shape (Primary first when it applies)."""
        plain, primary = TYPE_IDS.get((from_type, to_type), (0, None))
        out = []
        if primary is not None and self.is_primary(from_type, from_id, to_type, to_id):
            out.append({"category": "HUBSPOT_DEFINED", "typeId": primary, "label": "Primary"})
        out.append({"category": "HUBSPOT_DEFINED", "typeId": plain, "label": None})
        return out

    def v3_entries(self, from_type: str, from_id: str, to_type: str) -> list[dict[str, str]]:
        """The v3 embedded entries of one record's links, as HubSpot lists them: every link
        under `<from>_to_<to>_unlabeled` and the primary one also under `<from>_to_<to>`
        (e.g. `deal_to_company`); a pair with no primary type lists each link once, under
        `<from>_to_<to>`."""
        ids = self.targets(from_type, from_id, to_type)
        name = v3_type(from_type, to_type)
        if TYPE_IDS.get((from_type, to_type), (0, None))[1] is None:
            return [{"id": i, "type": name} for i in ids]
        out = []
        for i in ids:
            if self.is_primary(from_type, from_id, to_type, i):
                out.append({"id": i, "type": name})
            out.append({"id": i, "type": f"{name}_unlabeled"})
        return out


def v3_type(from_type: str, to_type: str) -> str:
    """The v3 association type name, e.g. `company_to_deal`."""
    return f"{_SINGLE.get(from_type, from_type)}_to_{_SINGLE.get(to_type, to_type)}"
