"""Rollback, validation failures that must not write, and one run per connection at a time."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from mappings.crm import shipped_mapping
from mappings.errors import ConfigError, FinanceDataError, StateError
from sync.pipeline import runner as pipeline
from sync.pipeline.results import NoProgress
from tests.integration.pipeline.conftest import AS_OF, CRMS, Site, edit, out_field
from tests.integration.pipeline.test_run import crm_values, expected_outputs


@pytest.mark.parametrize("crm", CRMS)
def test_rollback_restores_previous_values_and_skips_edited_fields(
    crm: str, make_site: Callable[..., Site]
) -> None:
    site = make_site(crm, accounts=80)
    first = site.run()
    db = site.state()
    scores = db.scores(first.run_id, "accounts").set_index("account_id")
    db.close()
    edited = scores.index[5]
    by_hand = next(q for q in ("Core", "Develop") if q != scores.loc[edited, "quadrant"])
    edit(site, "accounts", edited, {out_field(site, "accounts", "quadrant"): by_hand})

    report = pipeline.rollback(site.project(), first.run_id, env=site.env)

    assert report.skipped is not None and len(report.skipped) == 1
    skipped = report.skipped.iloc[0]
    assert (skipped["record_id"], skipped["now"]) == (edited, by_hand)
    assert report.restored == first.written
    values = site.outputs().set_index(["object", "record_id", "column"])["value"]
    assert values.pop(("accounts", edited, "quadrant")) == by_hand
    assert values.isna().all(), "every other field is back to empty, as before the run"

    again = pipeline.rollback(site.project(), report.rollback_run_id, env=site.env)
    assert again.skipped is not None and again.skipped.empty
    expected = expected_outputs(site, first.run_id)
    at = (expected["record_id"] == edited) & (expected["column"] == "quadrant")
    expected.loc[at, "value"] = by_hand
    pd.testing.assert_frame_equal(crm_values(site), expected)


def _bad_finance(site: Site, share: float) -> None:
    path = site.folder / "finance.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    bad = frame.index[: int(len(frame) * share)]
    frame.loc[bad, "cost_of_delivery"] = "n/a"
    frame.to_csv(path, index=False)


def _bad_output_mapping(site: Site) -> None:
    mapping = yaml.safe_load(shipped_mapping(site.crm).read_text())
    mapping["outputs"]["accounts"]["fields"]["churn_risk"] = "Churn_Risk__c"
    path = site.folder / "bad-mapping.yaml"
    path.write_text(yaml.safe_dump(mapping))
    project = yaml.safe_load(site.project_file.read_text())
    project["connections"]["sb"]["mapping"] = str(path)
    site.project_file.write_text(yaml.safe_dump(project))


def _unknown_crm_field(site: Site) -> None:
    mapping = yaml.safe_load(shipped_mapping(site.crm).read_text())
    mapping["objects"]["accounts"]["fields"]["industry"] = "No_Such_Field__c"
    path = site.folder / "bad-mapping.yaml"
    path.write_text(yaml.safe_dump(mapping))
    project = yaml.safe_load(site.project_file.read_text())
    project["connections"]["sb"]["mapping"] = str(path)
    site.project_file.write_text(yaml.safe_dump(project))


BROKEN = {
    "finance-5pct-bad-rows": (
        lambda s: _bad_finance(s, 0.05), FinanceDataError, "quarantine.max_share"
    ),
    "output-not-in-model": (_bad_output_mapping, ConfigError, "churn_risk"),
    "mapped-field-missing-in-crm": (_unknown_crm_field, ConfigError, "No_Such_Field__c"),
}  # fmt: skip


@pytest.mark.parametrize("crm", CRMS)
@pytest.mark.parametrize("case", list(BROKEN))
def test_invalid_input_stops_the_run_before_any_write(
    crm: str, case: str, make_site: Callable[..., Site]
) -> None:
    site = make_site(crm, accounts=40)
    breaks, error, says = BROKEN[case]
    breaks(site)
    with pytest.raises(error, match=says):
        site.run()
    assert site.write_count == 0
    if case != "finance-5pct-bad-rows":
        problems = pipeline.check(site.project(), env=site.env, as_of=AS_OF)
        assert any(says in str(p) for p in problems), problems
        return
    db = site.state()
    failed = db.latest_run("sb", status="failed")
    assert failed is not None and len(db.quarantine(failed)) > 0
    assert "quarantine.max_share" in (db.run(failed)["message"] or "")
    db.close()


def test_check_passes_on_a_provisioned_sandbox(make_site: Callable[..., Site]) -> None:
    site = make_site("salesforce", accounts=20)
    assert pipeline.check(site.project(), env=site.env, as_of=AS_OF) == []


class Held(NoProgress):
    """Progress that holds the run inside its lock until released."""

    def __init__(self) -> None:
        self.inside, self.release = threading.Event(), threading.Event()

    def start(self, task: str, total: int | None = None) -> None:
        self.inside.set()
        assert self.release.wait(60)


def _pg_url() -> Iterator[str | None]:
    base = os.environ.get("VALUESYNC_TEST_DATABASE_URL")
    if not base:
        yield None
        return
    schema = f"vs_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_second_concurrent_run_on_a_connection_is_refused(
    backend: str, make_site: Callable[..., Site]
) -> None:
    urls = _pg_url()
    url = next(urls)
    if backend == "postgresql" and url is None:
        pytest.skip("no PostgreSQL: set VALUESYNC_TEST_DATABASE_URL")
    site = make_site("salesforce", accounts=30)
    if url is not None and backend == "postgresql":
        project = yaml.safe_load(site.project_file.read_text())
        project["state"] = {"url_env": "VALUESYNC_STATE_URL"}
        site.project_file.write_text(yaml.safe_dump(project))
        site.env["VALUESYNC_STATE_URL"] = url
    held = Held()
    outcome: dict[str, object] = {}

    def first() -> None:
        outcome["report"] = pipeline.run(site.project(), as_of=AS_OF, env=site.env, progress=held)

    worker = threading.Thread(target=first)
    worker.start()
    try:
        assert held.inside.wait(60)
        with pytest.raises(StateError, match="another valuesync run is already working on "
                                             "connection 'sb'"):  # fmt: skip
            site.run()
    finally:
        held.release.set()
        worker.join(60)
    try:
        assert outcome["report"].status == "succeeded"  # type: ignore[attr-defined]
        db = site.state()
        assert [r["status"] for r in db.runs("sb")] == ["succeeded"]
        db.close()
    finally:
        next(urls, None)  # drops the PostgreSQL schema
