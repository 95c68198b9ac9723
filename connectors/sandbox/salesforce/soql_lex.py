"""SOQL tokens, literal decoding and Salesforce-shaped query errors.

String escapes follow "Quoted String Escape Sequences" in the SOQL reference
(developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/
sforce_api_calls_soql_select_quotedstringescapes.htm): \\n \\N \\r \\R \\t \\T \\b \\B \\f \\F
\\" \\' \\\\, plus \\_ and \\% which are legal only in LIKE patterns; any other backslash
is an error. Date literals are `YYYY-MM-DD`; datetime literals need a zone: `Z`,
`+hh:mm` or `-hhmm`, with optional fractional seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any


class SoqlError(Exception):
    """A query Salesforce (or the sandbox's subset) refuses: REST answers 400 with `code`."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Token:
    kind: str  # ident | string | number | date | datetime | op | punct | eof
    text: str
    pos: int
    value: Any = None
    like: str | None = None
    """For strings: the LIKE pattern as a regex (`%` -> .*, `_` -> ., escapes literal)."""
    like_escape: bool = False
    """True when the string used \\% or \\_ (legal only as a LIKE pattern)."""

    @property
    def upper(self) -> str:
        return self.text.upper()


def located(code: str, text: str, tok: Token, msg: str) -> SoqlError:
    """An error laid out as Salesforce does: the query line, a caret, Row/Column, the reason."""
    before = text[: tok.pos]
    row = before.count("\n") + 1
    line_start = before.rfind("\n") + 1
    col = tok.pos - line_start + 1
    line_end = text.find("\n", tok.pos)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    caret = " " * (col - 1) + "^"
    return SoqlError(code, f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{col}\n{msg}")


_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})"
_TOKEN = re.compile(
    rf"""(?P<ws>\s+)
    |(?P<datetime>{_DATETIME})(?![\w.:])
    |(?P<date>\d{{4}}-\d{{2}}-\d{{2}})(?![\w.:])
    |(?P<number>[+-]?\d+(?:\.\d+)?)(?![\w.:])
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<string>')
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),])""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_SIGN_AFTER = {"op", "punct"}


def tokenize(text: str) -> list[Token]:
    """Split a query into tokens; raises SoqlError(MALFORMED_QUERY) on a bad character."""
    toks: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            bad = Token("punct", text[i], i)
            raise located("MALFORMED_QUERY", text, bad, f"unexpected token: '{text[i]}'")
        kind = m.lastgroup or ""
        if kind == "ws":
            i = m.end()
            continue
        if kind == "string":
            tok, i = _string(text, i)
            toks.append(tok)
            continue
        raw = m.group()
        if kind == "number" and raw[0] in "+-" and (not toks or toks[-1].kind not in _SIGN_AFTER):
            bad = Token("op", raw[0], i)
            raise located("MALFORMED_QUERY", text, bad, f"unexpected token: '{raw[0]}'")
        toks.append(Token(kind, raw, i, _literal_value(kind, raw, text, i)))
        i = m.end()
    toks.append(Token("eof", "<EOF>", n))
    return toks


def _string(text: str, start: int) -> tuple[Token, int]:
    """Decode the quoted string starting at `start`; returns the token and the next index."""
    out: list[str] = []
    pattern: list[str] = []
    like_escape = False
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "'":
            value = "".join(out)
            tok = Token("string", text[start : i + 1], start, value, "".join(pattern), like_escape)
            return tok, i + 1
        if c == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt.lower() in _ESCAPES:
                ch = _ESCAPES[nxt.lower()] if nxt not in "\"'\\" else nxt
                out.append(ch)
                pattern.append(re.escape(ch))
            elif nxt in ("%", "_"):
                like_escape = True
                out.append(nxt)
                pattern.append(re.escape(nxt))
            else:
                bad = Token("string", "\\", i)
                raise located("MALFORMED_QUERY", text, bad, "Invalid string literal: bad escape")
            i += 2
            continue
        out.append(c)
        pattern.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    bad = Token("string", "'", start)
    raise located("MALFORMED_QUERY", text, bad, "unterminated string literal")


def _literal_value(kind: str, raw: str, text: str, pos: int) -> Any:
    try:
        if kind == "number":
            return float(raw) if "." in raw else int(raw)
        if kind == "date":
            return date.fromisoformat(raw)
        if kind == "datetime":
            return parse_datetime(raw)
    except ValueError:
        bad = Token(kind, raw, pos)
        raise located("MALFORMED_QUERY", text, bad, f"invalid {kind} literal: {raw}") from None
    return None


def parse_datetime(raw: str) -> datetime:
    """A SOQL datetime literal as an aware UTC datetime."""
    m = re.fullmatch(r"(.{19})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):?(\d{2}))", raw)
    if m is None:
        raise ValueError(raw)
    base = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    micro = int((m.group(2) or "0").ljust(6, "0")[:6])
    tz: timezone = UTC
    if m.group(3) != "Z":
        sign = -1 if m.group(4) == "-" else 1
        tz = timezone(sign * timedelta(hours=int(m.group(5)), minutes=int(m.group(6))))
    return base.replace(microsecond=micro, tzinfo=tz).astimezone(UTC)


def escape_soql(value: str) -> str:
    """Quote a Python string as a SOQL literal (the inverse of the tokenizer's decoding)."""
    out = value.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    out = out.replace("\b", "\\b").replace("\f", "\\f")
    return f"'{out}'"
