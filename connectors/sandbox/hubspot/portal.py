"""Placeholder: the HubSpot portal state; replaced by its owner."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.sandbox.faults import FaultController
from connectors.sandbox.store import Store


@dataclass
class HubSpotPortal:
    store: Store
    faults: FaultController
    token: str = "pat-sandbox-0000"
    base_url: str = ""
