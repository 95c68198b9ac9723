"""The CRM's describe as the mapping editor shows it, cached for a few minutes.

A describe is one or more API calls per object (Salesforce counts them against the daily
limit; HubSpot against its ten-second limit), and the mapping editor is opened, previewed
and saved many times in a row. The console keeps each connection's describes for
`DESCRIBE_TTL` seconds; the page says how old they are and offers "Reload from CRM", and a
provision started from the console drops them so the outputs show their new state.
Validation before a save always describes afresh (`check_mapping`): a stale cache can
make the page look old, never let a bad mapping through.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from connectors.base import ObjectSchema
from mappings.errors import ConfigError, ConnectorError

DESCRIBE_TTL = 300.0


@dataclass
class DescribeCache:
    """connection -> (monotonic time read, wall time read, (table, object) -> describe)."""

    ttl: float = DESCRIBE_TTL
    _entries: dict[str, tuple[float, float, dict[tuple[str, str], ObjectSchema | None]]] = field(
        default_factory=dict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def schemas(
        self, name: str, objects: dict[str, str], connector: Any, *, fresh: bool = False
    ) -> tuple[dict[str, ObjectSchema | None], float]:
        """Table -> describe of its CRM object (None: the CRM does not show it), and the
        wall time they were read. `objects` is table -> CRM object as the mapping names
        them; read again when older than the TTL, when asked to, or when the mapping names
        another object. A CRM that answers no describe at all raises its ConnectorError
        (the page shows it) and nothing is cached."""
        wanted = {(t, o) for t, o in objects.items()}
        with self._lock:
            entry = self._entries.get(name)
        if (
            entry is not None
            and not fresh
            and time.monotonic() - entry[0] < self.ttl
            and wanted <= set(entry[2])
        ):
            return {t: entry[2][(t, o)] for t, o in objects.items()}, entry[1]
        found: dict[tuple[str, str], ObjectSchema | None] = {}
        failure: ConnectorError | None = None
        for table, obj in objects.items():
            try:
                found[(table, obj)] = connector.describe(table)
            except ConfigError:
                found[(table, obj)] = None
            except ConnectorError as exc:
                found[(table, obj)], failure = None, exc
        if failure is not None and all(v is None for v in found.values()):
            raise failure
        taken = time.time()
        with self._lock:
            self._entries[name] = (time.monotonic(), taken, found)
        return {t: found[(t, o)] for t, o in objects.items()}, taken

    def forget(self, name: str) -> None:
        """Drop a connection's describes (after provisioning or saving its mapping)."""
        with self._lock:
            self._entries.pop(name, None)
