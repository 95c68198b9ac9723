"""Shared fixtures: sandbox CRM servers on loopback, started and stopped per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings

from connectors.sandbox.server import SandboxServer

# Property tests check results, not speed: on a loaded CI machine a single example may take
# longer than hypothesis's default 200 ms deadline, which would fail a correct test.
settings.register_profile("valuesync", deadline=None)
settings.load_profile("valuesync")


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
