"""Fast path for reading a finance CSV: pyarrow's parser, for files where it provably agrees.

Python's `csv.reader` (the exact reader in `finance_read`) is the reference: it defines
the rows, the line numbers and every error message. pyarrow parses in C over several
threads, but it does not report where each row started, and it differs from `csv.reader`
on malformed input. So the fast path only answers when every data row sits on exactly one
physical line and every line splits into the header's fields; then the line numbers follow
from where the newlines are. Anything else (a quoted newline, a ragged or blank-looking
line, a quote the regular expression below does not accept, a decoding error, a NUL, a
very long line) returns None and the caller reads the file with `csv.reader`.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

NEWLINE, QUOTE = 10, 34
BOM = b"\xef\xbb\xbf"
STRING = pd.StringDtype("pyarrow")


def read_csv_fast(
    path: Path, encoding: str, delimiter: str
) -> tuple[list[str], pd.DataFrame, np.ndarray] | None:
    """(header, text columns, line of each row) as `csv.reader` would split them, or None.

    The columns are pyarrow-backed strings (never missing), the header as written (not
    stripped); None means "read it with csv.reader", never an error.
    """
    if delimiter in '"\r\n':
        return None
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None  # the exact reader raises the message that names the byte
    if "\x00" in text or text.startswith("\ufeff"):
        return None
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None  # a lone CR ends a line for csv.reader; keep to the plain cases
    if encoding.lower() in ("utf-8-sig", "utf8-sig"):
        payload = data[len(BOM) :] if data.startswith(BOM) else data
    else:
        payload = text.encode("utf-8")
    del text
    buf = np.frombuffer(payload, dtype=np.uint8)
    ends = np.flatnonzero(buf == NEWLINE)
    if len(payload) and (not len(ends) or ends[-1] != len(payload) - 1):
        ends = np.append(ends, len(payload))  # the last line has no newline
    starts = np.concatenate(([0], ends[:-1] + 1))
    stops = ends - (ends > 0) * (buf[np.maximum(ends - 1, 0)] == ord("\r"))
    if not len(ends) or stops[0] == starts[0]:
        return None  # no header line: the exact reader says so
    if int((ends - starts).max()) >= csv.field_size_limit():
        return None
    if not _quotes_well_formed(payload, buf, starts, stops, ends, delimiter):
        return None
    header = next(csv.reader([payload[: stops[0]].decode("utf-8")], delimiter=delimiter))
    filled = stops[1:] > starts[1:]  # csv.reader yields [] for an empty line: skipped
    lines = (np.flatnonzero(filled) + 2).astype("int64")
    table = _parse(payload, len(header), delimiter)
    if table is None or table.num_rows != len(lines):
        return None
    columns = {
        f"c{i}": pd.Series(pd.array(table.column(i), dtype=STRING)) for i in range(len(header))
    }
    frame = pd.DataFrame(columns)
    return header, frame, lines


def _quotes_well_formed(
    payload: bytes,
    buf: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    ends: np.ndarray,
    delimiter: str,
) -> bool:
    """Every line holding a quote is a complete record of plain or fully quoted fields."""
    quotes = np.flatnonzero(buf == QUOTE)
    if not len(quotes):
        return True
    d = re.escape(delimiter)
    field = rf'(?:"(?:[^"]|"")*"|[^"{d}]*)'
    record = re.compile(rf"{field}(?:{d}{field})*", re.DOTALL)
    for i in np.unique(np.searchsorted(ends, quotes)):
        line = payload[starts[i] : stops[i]].decode("utf-8")
        if "\n" in line or "\r" in line or record.fullmatch(line) is None:
            return False
    return True


def _parse(payload: bytes, width: int, delimiter: str) -> pa.Table | None:
    names = [f"c{i}" for i in range(width)]
    try:
        return pacsv.read_csv(
            pa.py_buffer(payload),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # a ragged line: the exact reader reports it row by row
