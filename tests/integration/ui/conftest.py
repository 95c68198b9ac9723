"""Console fixtures: a seeded sandbox CRM and project (the pipeline's fixtures) with its own
copy of the mapping (the console writes to it), and the console application over it,
driven with Starlette's TestClient."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from html import unescape
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from mappings.crm import shipped_mapping
from sync.pipeline.model_file import SHIPPED_VALUE_MODEL
from sync.ui.app import build_app
from sync.ui.context import Console
from tests.integration.pipeline.conftest import AS_OF, Site, make_site

__all__ = ["make_site", "own_mapping"]


def own_mapping(site: Site) -> Site:
    """Point the project at a copy of the shipped mapping inside the project folder, and use
    the shipped value model as written (comments, flow style) with the sample's rates."""
    model = SHIPPED_VALUE_MODEL.read_text().replace("rates: {}", "rates: {USD: 0.92, GBP: 1.17}")
    assert "USD: 0.92" in model
    (site.folder / "value_model.yaml").write_text(model)
    copy = site.folder / f"{site.crm}.yaml"
    shutil.copy(shipped_mapping(site.crm), copy)
    project = yaml.safe_load(site.project_file.read_text())
    project["connections"]["sb"]["mapping"] = copy.name
    site.project_file.write_text(yaml.safe_dump(project, sort_keys=False))
    return site


@pytest.fixture
def ui_site(make_site: Callable[..., Site]) -> Callable[..., Site]:
    """Factory: a provisioned sandbox site whose project has its own mapping file."""

    def factory(crm: str = "salesforce", accounts: int = 80, **kw: Any) -> Site:
        return own_mapping(make_site(crm, accounts=accounts, **kw))

    return factory


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """Factory: `make_client(site, token=None)` -> a TestClient over the console."""
    made: list[tuple[TestClient, Console]] = []

    def factory(site: Site, token: str | None = None, **kw: Any) -> TestClient:
        console = Console(site.project_file, as_of=AS_OF, env=site.env, ready_wait=120, **kw)
        client = TestClient(build_app(console, token))
        client.__enter__()
        made.append((client, console))
        return client

    yield factory
    for client, console in made:
        for job in list(console.jobs._jobs.values()):
            console.jobs.wait(job.id, 120)
        client.__exit__(None, None, None)
        console.close()


def csrf(client: TestClient) -> dict[str, str]:
    """The CSRF header the pages send (after a first GET set the cookie)."""
    if "vs_csrf" not in client.cookies:
        client.get("/connections")
    return {"X-CSRF-Token": client.cookies["vs_csrf"]}


def form_of(page: str, **fields: str) -> dict[str, str]:
    """The hidden fields of a page's form (digest, CSRF) plus `fields`."""
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return {**hidden, **fields}


def wait_job(client: TestClient, timeout: float = 120.0) -> Any:
    """Wait for the console's latest job to end; returns it."""
    jobs = client.app.state.console.jobs  # type: ignore[attr-defined]
    job = max(jobs._jobs.values(), key=lambda j: j.id)
    return jobs.wait(job.id, timeout)


def text_of(page: str) -> str:
    """The visible text of a page, whitespace collapsed (scripts dropped)."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())
