"""Every exception valuesync raises, grouped by what the caller should do.

```
ValuesyncError                  exit code 1 unless a subclass says otherwise
├── ConfigError                 2  fix the YAML / env; never retried
├── DataError                   2  bad input data, reported row by row
│   └── FinanceDataError           too many bad finance rows (carries the quarantine)
├── ConnectorError              3  system, operation, HTTP status, vendor error code
│   ├── AuthError                  refresh once, then fatal
│   ├── RetryableError             429, 5xx, timeouts, UNABLE_TO_LOCK_ROW (retry_after)
│   └── FatalApiError              INVALID_FIELD, permissions, schema drift
│       ├── QuotaError             the run would eat into the API reserve
│       ├── ValidationRejected     HubSpot refused a whole request (per-property errors)
│       └── UnsafeSoqlError        a name or value that cannot go into SOQL
├── StateError                  4  the state DB is unusable
│   └── LockHeldError              another run holds the connection's lock
└── DemoError                   1  a step of `valuesync demo` failed
```

This module is the only place valuesync defines an exception. The CLI and the scheduler
map these types to exit codes and outcomes (`exit_code`), never the message text.

Messages say what failed, where, and how to fix it. They never carry a secret or a
customer field value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class ValuesyncError(Exception):
    """Base of every error valuesync raises on purpose."""

    exit_code: int = 1
    """The CLI's exit code for this kind of error (README: Exit codes)."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a config file: where it is and what is allowed instead."""

    file: str
    key_path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" at '{self.key_path}'" if self.key_path else ""
        return f"{where}{key}: {self.message}"


class ConfigError(ValuesyncError):
    """A config file or environment variable is wrong; fix it, retrying will not help.

    Carries every problem found, so the user fixes them all in one go.
    """

    exit_code = 2

    def __init__(self, problems: Sequence[ConfigProblem] | str) -> None:
        if isinstance(problems, str):
            problems = [ConfigProblem(file="", key_path="", message=problems)]
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        if len(self.problems) == 1:
            text = str(self.problems[0]).lstrip(": ")
        else:
            lines = [f"{len(self.problems)} problems in the configuration:"]
            lines += [f"  - {p}" for p in self.problems]
            text = "\n".join(lines)
        super().__init__(text)


class ConnectorError(ValuesyncError):
    """A call to an outside system failed."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        operation: str = "",
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.system = system
        self.operation = operation
        self.status = status
        self.code = code
        parts = [p for p in (system, operation) if p]
        prefix = f"{' '.join(parts)}: " if parts else ""
        detail = ", ".join(x for x in (f"HTTP {status}" if status else "", code or "") if x)
        super().__init__(f"{prefix}{message}" + (f" ({detail})" if detail else ""))


class AuthError(ConnectorError):
    """Credentials were refused or the session cannot be refreshed; check the secrets."""


class RetryableError(ConnectorError):
    """A transient failure (429, 5xx, timeout, row lock); the call may be retried."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class FatalApiError(ConnectorError):
    """The CRM refused the request for a reason retrying will not fix."""


class QuotaError(FatalApiError):
    """The run would eat into the API reserve the admin configured; it stopped cleanly."""


@dataclass(frozen=True)
class PropertyError:
    """One per-property error inside a HubSpot 400 VALIDATION_ERROR message."""

    name: str
    error: str
    message: str


class ValidationRejected(FatalApiError):
    """HubSpot refused a whole request with 400 VALIDATION_ERROR; the details are data."""

    def __init__(self, message: str, *, errors: list[PropertyError], **kw: Any) -> None:
        self.hubspot_message = message
        self.errors = errors
        super().__init__(message, **kw)


class UnsafeSoqlError(FatalApiError):
    """A name not in describe or a value that cannot be quoted reached the SOQL builder."""


class DataError(ValuesyncError):
    """Input data (finance files, canonical tables) has bad rows; reported row by row."""

    exit_code = 2


class FinanceDataError(DataError):
    """Too many bad finance rows: the run stopped before writing; `.quarantine` lists them
    (a pandas DataFrame: file, line, column, value, reason)."""

    def __init__(self, message: str, quarantine: Any) -> None:
        super().__init__(message)
        self.quarantine = quarantine


class StateError(ValuesyncError):
    """The state database is unusable."""

    exit_code = 4


class LockHeldError(StateError):
    """Another live run holds the connection's lock; this run did not start."""


class DemoError(ValuesyncError):
    """The demo could not do a step; the message says which and what to try."""


def exit_code(exc: ValuesyncError) -> int:
    """The CLI's exit code for `exc`, by its type."""
    return exc.exit_code
