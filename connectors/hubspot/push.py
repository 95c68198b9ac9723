"""Writing values back to HubSpot: batch update, 100 inputs per call, results as data.

- Inputs are de-duplicated by id before batching (one repeated id rejects a whole
  batch in HubSpot), and only properties with a value are sent (a missing / NA cell
  means "unchanged"); an input left with no property is not sent at all.
- 207 partial results become accepted ids and Rejection rows with HubSpot's category
  and message (docs/crm-wire.md §B6).
- A 400 VALIDATION_ERROR fails the whole batch. The bad input is isolated instead of
  losing the other 99: the message's per-property errors (and the offending value when
  it is quoted) name the suspects, the rest is written in one call, and the suspects
  are bisected until each bad input stands alone and is reported.
- Transient failures are retried by the shared policy inside `HubSpotApi.call`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from connectors.base import Rejection, WriteResult
from connectors.hubspot.client import HubSpotApi
from mappings.errors import PropertyError, ValidationRejected

log = logging.getLogger(__name__)
BATCH = 100


@dataclass
class Input:
    """One record's changed properties, already serialised for the wire."""

    id: str
    properties: dict[str, str] = field(default_factory=dict)


def wire_value(value: Any) -> str | None:
    """A Python/pandas value as the string HubSpot expects; None means 'do not send'."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, pd.Timestamp | datetime):
        ts = pd.Timestamp(value)
        ts = ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)
        return str(int(ts.timestamp() * 1000))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "item"):  # numpy scalars
        return wire_value(value.item())
    return str(value)


def inputs_from(
    ids: Sequence[Any], columns: Mapping[str, Sequence[Any]], current: dict[str, dict[str, str]]
) -> list[Input]:
    """De-duplicated inputs (later rows win per property) with only changed properties."""
    merged: dict[str, dict[str, str]] = {}
    for row, raw_id in enumerate(ids):
        rid = wire_value(raw_id)
        if not rid:
            continue
        props = merged.setdefault(rid, {})
        for prop, values in columns.items():
            value = wire_value(values[row])
            if value is not None:
                props[prop] = value
    out = []
    for rid, props in merged.items():
        before = current.get(rid, {})
        changed = {p: v for p, v in props.items() if before.get(p) != v}
        if changed:
            out.append(Input(rid, changed))
    return out


class Pusher:
    """Batch updates of one object type."""

    def __init__(self, api: HubSpotApi, object_type: str) -> None:
        self.api = api
        self.object_type = object_type

    def push(self, inputs: Sequence[Input]) -> WriteResult:
        """Write every input in batches of 100; per-record outcomes as data."""
        result = WriteResult()
        with self.api.counting() as calls:  # this push's calls, whatever other threads do
            for start in range(0, len(inputs), BATCH):
                self._isolate(list(inputs[start : start + BATCH]), result)
        result.calls = {"write": sum(calls.values())}
        log.info(
            "%s: %d accepted, %d rejected in %d calls",
            self.object_type,
            len(result.accepted),
            len({r.record_id for r in result.rejected}),
            result.calls["write"],
        )
        return result

    def _isolate(self, batch: list[Input], result: WriteResult) -> None:
        try:
            response = self._update(batch)
        except ValidationRejected as exc:
            self._split(batch, exc, result)
            return
        self._collect(batch, response, result)

    def _split(self, batch: list[Input], exc: ValidationRejected, result: WriteResult) -> None:
        if len(batch) == 1:
            result.rejected += _rejections(batch[0], exc)
            return
        suspects = _suspects(batch, exc.errors)
        if len(suspects) == 1 and suspects[0].matched_value:
            result.rejected += _rejections(suspects[0].input, exc)
            rest = [i for i in batch if i is not suspects[0].input]
            self._isolate(rest, result)
            return
        named = [s.input for s in suspects]
        if named and len(named) < len(batch):
            self._isolate([i for i in batch if all(i is not n for n in named)], result)
            self._isolate(named, result)
            return
        half = len(batch) // 2
        self._isolate(batch[:half], result)
        self._isolate(batch[half:], result)

    def _update(self, batch: list[Input]) -> Any:
        # A plain dict body: the client serialises it as it would its models, and each
        # generated model costs a Configuration object (with a cpu_count call) to build.
        body = {"inputs": [{"id": i.id, "properties": i.properties} for i in batch]}
        # The raw JSON answer: the client's models would parse createdAt / updatedAt of
        # every record with dateutil, a sixth of a 400k-record push's client time.
        return self.api.call_json(
            "write",
            f"batch update {self.object_type}",
            self.api.client.crm.objects.batch_api.update_with_http_info,
            self.object_type,
            batch_input_simple_public_object_batch_input=body,
            expect=(200, 207),
        )

    def _collect(self, batch: list[Input], response: Any, result: WriteResult) -> None:
        """`response`: the batch answer's JSON (results, and errors on a 207)."""
        asked = {i.id for i in batch}
        done = {str(r.get("id")) for r in response.get("results") or []} & asked
        refused: set[str] = set()
        loose: list[dict[str, Any]] = []
        for error in response.get("errors") or []:
            ids = _context_ids(error)
            if not ids:
                loose.append(error)
            for rid in ids & asked:
                refused.add(rid)
                result.rejected.append(
                    Rejection(
                        rid,
                        "",
                        str(error.get("category") or "ERROR"),
                        str(error.get("message") or ""),
                    )
                )
        for rid in sorted(asked - done - refused):
            first = loose[0] if loose else {}
            result.rejected.append(
                Rejection(
                    rid,
                    "",
                    str(first.get("category") or "NOT_CONFIRMED"),
                    str(first.get("message") or "HubSpot returned no result for this id"),
                )
            )
        result.accepted += [i.id for i in batch if i.id in done and i.id not in refused]


def _context_ids(error: dict[str, Any]) -> set[str]:
    context = error.get("context") or {}
    ids: set[str] = set()
    for key in ("ids", "id", "fromObjectId", "objectIds"):
        for value in context.get(key) or []:
            ids.add(str(value))
    return ids


@dataclass
class _Suspect:
    input: Input
    matched_value: bool


def _suspects(batch: Iterable[Input], errors: Sequence[PropertyError]) -> list[_Suspect]:
    """Inputs an error names: same property and, when quoted in the message, same value."""
    out: list[_Suspect] = []
    for item in batch:
        for error in errors:
            value = item.properties.get(error.name)
            if value is None:
                continue
            quoted = _quotes(value, error.message)
            if quoted or not any(
                _quotes(other.properties.get(error.name), error.message) for other in batch
            ):
                out.append(_Suspect(item, quoted))
                break
    return out


def _quotes(value: str | None, message: str) -> bool:
    if value is None:
        return False
    return any(q in message for q in (f'"{value}"', f"'{value}'", f"{value} was"))


def _rejections(item: Input, exc: ValidationRejected) -> list[Rejection]:
    named = [e for e in exc.errors if e.name in item.properties]
    if not named:
        return [Rejection(item.id, "", exc.code or "VALIDATION_ERROR", exc.hubspot_message)]
    return [Rejection(item.id, e.name, e.error or "VALIDATION_ERROR", e.message) for e in named]
