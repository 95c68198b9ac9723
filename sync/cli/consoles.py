"""The CLI's Rich consoles, made on first use.

Importing Rich's console costs about a tenth of a second, which `valuesync --help` and
every command that fails early should not pay.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@cache
def stdout() -> Console:
    """Tables and results (stdout stays one document with --json: nothing else goes there)."""
    from rich.console import Console

    return Console()


@cache
def stderr() -> Console:
    """Errors, progress and notices."""
    from rich.console import Console

    return Console(stderr=True)
