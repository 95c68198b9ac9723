"""Console fixtures: a seeded sandbox CRM and project (the pipeline's fixtures), and the
console application over it, driven with Starlette's TestClient."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from sync.ui.app import build_app
from sync.ui.context import Console
from tests.integration.pipeline.conftest import AS_OF, Site, make_site  # noqa: F401

__all__ = ["make_site"]


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """Factory: `make_client(site, token=None)` -> a TestClient with the CSRF cookie set."""
    made: list[tuple[TestClient, Console]] = []

    def factory(site: Site, token: str | None = None, **kw: Any) -> TestClient:
        console = Console(site.project_file, as_of=AS_OF, env=site.env, **kw)
        client = TestClient(build_app(console, token))
        client.__enter__()
        made.append((client, console))
        return client

    yield factory
    for client, console in made:
        client.__exit__(None, None, None)
        console.close()


def csrf(client: TestClient) -> dict[str, str]:
    """The CSRF header the pages send (after a first GET set the cookie)."""
    if "vs_csrf" not in client.cookies:
        client.get("/connections")
    return {"X-CSRF-Token": client.cookies["vs_csrf"]}


def wait_job(client: TestClient, timeout: float = 120.0) -> Any:
    """Wait for the console's latest job to end; returns it."""
    console = client.app.state.console  # type: ignore[attr-defined]
    jobs = console.jobs
    job = max(jobs._jobs.values(), key=lambda j: j.id)
    return jobs.wait(job.id, timeout)
