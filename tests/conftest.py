"""Shared fixtures: sandbox CRM servers on loopback, started and stopped per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.sandbox.server import SandboxServer


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., SandboxServer]]:
    """Factory: `make_sandbox(sf_store=, hs_store=, profile=, tls=)` -> a started server."""
    servers: list[SandboxServer] = []

    def factory(**kwargs: Any) -> SandboxServer:
        server = SandboxServer(**kwargs).start()
        servers.append(server)
        return server

    yield factory
    for s in servers:
        s.stop()
