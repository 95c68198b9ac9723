"""Placeholder: replaced by its owner."""

from connectors.sandbox.store import Clock, Store


def new_portal_store() -> Store:
    return Store(Clock(resolution_ms=1, strictly_increasing=True))
