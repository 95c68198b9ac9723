"""HubSpot value formats: Python values in the store <-> strings on the wire.

Every property value goes out as a string (docs/crm-wire.md §B4): numbers "17",
booleans "true"/"false", dates "YYYY-MM-DD", datetimes ISO-8601 UTC with
milliseconds ("2024-02-01T10:00:00.123Z", §B12). Inputs accept strings or JSON
scalars; datetimes as epoch milliseconds or ISO-8601.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from connectors.sandbox.hubspot.schema import CALCULATED, calculated_value
from connectors.sandbox.store import FieldDef, Record


class InvalidValue(ValueError):
    """A property value HubSpot would reject; `code` is HubSpot's per-property error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def iso_ms(t: datetime, omit_zero_ms: bool = False) -> str:
    """2024-02-01T10:00:00.123Z (or ...10:00:00Z when asked to drop zero milliseconds)."""
    # isoformat() without arguments is C code and the fastest formatting there is (a
    # timespec keyword alone doubles its cost; strftime is 5x slower); list pages call
    # this for every datetime of every record. UTC values are the rule in the store.
    if t.tzinfo is not None and t.utcoffset():
        t = t.astimezone(UTC)
    text = t.isoformat()  # ...HH:MM:SS[.ffffff][+00:00]
    if t.microsecond >= 1000:  # a non-zero millisecond
        text = text[:23]
    elif omit_zero_ms:
        return text[:19] + "Z"
    else:
        text = text[:19] + ".000"
    return text + "Z"


def to_wire(value: Any, omit_zero_ms: bool = False) -> str | None:
    """One stored value as HubSpot sends it (always a string, or null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return iso_ms(value, omit_zero_ms)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def parse_datetime(raw: Any) -> datetime:
    """Epoch milliseconds (number or digit string) or ISO-8601 -> aware UTC datetime."""
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, date):
        return datetime.combine(raw, time(), UTC)
    s = str(raw).strip()
    if s.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(s) / 1000, UTC)
    t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


def parse_date(raw: Any) -> date:
    """`YYYY-MM-DD`, epoch ms at midnight UTC, or an ISO datetime -> date."""
    s = str(raw).strip()
    if len(s) == 10 and s[4] == "-":
        return date.fromisoformat(s)
    return parse_datetime(raw).date()


def parse_number(raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise ValueError(raw)
    n = float(raw)
    if n != n or n in (float("inf"), float("-inf")):
        raise ValueError(raw)
    return int(n) if n.is_integer() and "." not in str(raw) else n


def parse_value(f: FieldDef, raw: Any) -> Any:
    """A written value converted to its stored type; raises InvalidValue like HubSpot's checks."""
    if raw is None or raw == "":
        return None  # HubSpot clears a property written as ""
    try:
        if f.type == "number":
            return parse_number(raw)
        if f.type == "bool":
            s = str(raw).strip().lower()
            if s not in ("true", "false"):
                raise ValueError(raw)
            return s == "true"
        if f.type == "datetime":
            return parse_datetime(raw)
        if f.type == "date":
            return parse_date(raw)
    except (ValueError, TypeError, OverflowError) as exc:
        code = {"number": "INVALID_DECIMAL", "bool": "INVALID_BOOLEAN"}.get(f.type, "INVALID_DATE")
        raise InvalidValue(code, f"{raw} was not a valid {f.type}.") from exc
    s = str(raw)
    if f.type == "enumeration" and f.restricted:
        allowed = {o["value"] for o in f.extra.get("options", [])}
        bad = [v for v in s.split(";") if v not in allowed]
        if bad:
            shown = ", ".join(sorted(allowed))
            raise InvalidValue(
                "INVALID_OPTION", f"{bad[0]} was not one of the allowed options: [{shown}]"
            )
    return s


def record_value(rec: Record, name: str) -> Any:
    """A property of a stored record; hs_object_id is the id itself."""
    if name == "hs_object_id":
        return int(rec["_id"])
    if name in CALCULATED:
        return calculated_value(name, rec)
    return rec.get(name)


def created_at(rec: Record) -> datetime | None:
    return rec.get("createdate") or rec.get("hs_createdate") or rec.get("hs_lastmodifieddate")
