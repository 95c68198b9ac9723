"""The console's pages over a sandbox CRM through the real connectors (TestClient): the
connections page and its jobs, explain, plan & runs with rollback, the embedded report."""

from __future__ import annotations

import re
import time
from html import unescape

import pytest
import yaml

from tests.integration.pipeline.conftest import out_field
from tests.integration.ui.conftest import csrf, text_of, wait_job


def test_connections_page_shows_each_connection_with_its_buttons(ui_site, make_client) -> None:
    site = ui_site()
    client = make_client(site)
    page = client.get("/connections")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "sb" in text and "lock free" in text and "no runs yet" in text
    for button in ("check-sb", "plan-sb", "provision-sb", "run-sb"):
        assert f'id="{button}"' in page.text
    assert 'hx-confirm="Run sb now?' in page.text  # a run asks first


def test_run_shows_progress_to_the_end_and_the_status_after(ui_site, make_client) -> None:
    site = ui_site()
    client = make_client(site)
    started = client.post("/connections/sb/run", headers=csrf(client), data={"confirm": "yes"})
    assert started.status_code == 200
    assert 'hx-get="/jobs/' in started.text  # the panel polls while the job runs
    job_id = re.search(r'hx-get="/jobs/(\d+)"', started.text).group(1)
    job = wait_job(client)
    assert job.status == "done", job.error
    panel = client.get(f"/jobs/{job_id}")  # left and come back: the panel has the outcome
    text = text_of(panel.text)
    assert "hx-get" not in panel.text  # polling stops at the end
    assert f"run {job.result.run_id} succeeded" in text
    assert "push accounts 80 / 80 ✓" in text
    assert site.write_count > 0
    detail = text_of(client.get("/connections/sb").text)
    assert "succeeded" in detail and "none: the CRM accepted every record" in detail


def test_a_run_needs_confirmation_and_a_csrf_token(ui_site, make_client) -> None:
    site = ui_site()
    client = make_client(site)
    unconfirmed = client.post("/connections/sb/run", headers=csrf(client))
    assert unconfirmed.status_code == 400 and "confirm it first" in unconfirmed.text
    forged = client.post("/connections/sb/run", data={"confirm": "yes"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    wrong = client.post("/connections/sb/run", data={"confirm": "yes", "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    assert client.app.state.console.jobs.latest("sb") is None
    assert site.write_count == 0


def test_one_job_at_a_time_per_connection(ui_site, make_client) -> None:
    site = ui_site()
    client = make_client(site)
    site.server.faults.latency = 0.05 if hasattr(site.server.faults, "latency") else None
    first = client.post("/connections/sb/plan", headers=csrf(client))
    assert first.status_code == 200
    second = client.post("/connections/sb/run", headers=csrf(client), data={"confirm": "yes"})
    if wait_job(client, 0).status == "running":  # the plan is still going: refused
        assert second.status_code == 409 and "is busy" in second.text
    wait_job(client)
    assert client.app.state.console.jobs.latest("sb").kind in ("plan", "run")


def test_check_and_provision_jobs_report_their_outcome(ui_site, make_client) -> None:
    site = ui_site(provision=False)
    client = make_client(site)
    client.post("/connections/sb/check", headers=csrf(client))
    check = wait_job(client)
    assert check.status == "done" and check.result  # output fields are missing
    client.post("/connections/sb/provision", headers=csrf(client))
    assert wait_job(client).status == "done"
    panel = text_of(client.get(f"/jobs/{wait_job(client).id}").text)
    assert "Value_Quadrant__c" in panel
    client.post("/connections/sb/check", headers=csrf(client))
    assert wait_job(client).result == []
    assert "all good" in text_of(client.get(f"/jobs/{wait_job(client).id}").text)


def test_explain_the_a_b_pair(ui_site, make_client) -> None:
    site = ui_site()
    site.run()
    client = make_client(site)
    shown = {}
    for name in ("Alpha Precision GmbH", "Beta Bulk Trading Ltd"):
        hits = client.get("/explain/sb", params={"q": name.split()[0].lower()})
        link = re.search(r'href="(/explain/sb/[^"]+)">' + re.escape(name), hits.text)
        assert link, text_of(hits.text)
        page = client.get(link.group(1))
        assert page.status_code == 200
        account_id = link.group(1).rsplit("/", 1)[1]
        crm = site.records("accounts")[account_id]
        reason = re.search(r'<q id="reason">(.*?)</q>', page.text, flags=re.S).group(1)
        assert reason.replace("&amp;", "&") == crm["Value_Reason__c"]  # as written to the CRM
        quadrant = re.search(r'id="quadrant">(.*?)<', page.text).group(1)
        assert quadrant == crm["Value_Quadrant__c"]
        text = text_of(page.text)
        assert "margin margin_pct" in text and "weight" in text and "threshold" in text
        assert "account_action" in text and "rule" in text
        assert f"/lightning/r/Account/{account_id}/view" in page.text
        value = float(re.search(r'id="value-score">([\d.]+)<', page.text).group(1))
        shown[name] = (quadrant, value, re.search(r"revenue 12 months (\S+)", text).group(1))
    alpha, beta = shown["Alpha Precision GmbH"], shown["Beta Bulk Trading Ltd"]
    assert alpha[2] == beta[2] == "€100k"  # the same revenue ...
    assert alpha[0] == "Core" and beta[0] != "Core" and alpha[1] > beta[1] + 20  # ... not value


def test_explain_searches_by_domain_and_id_and_says_when_nothing_matches(
    ui_site, make_client
) -> None:
    site = ui_site()
    site.run()
    client = make_client(site)
    by_domain = client.get("/explain/sb", params={"q": "alpha-precision"})
    match = re.search(r'href="/explain/sb/([^"]+)"', by_domain.text)
    assert match
    by_id = client.get("/explain/sb", params={"q": match.group(1)})
    assert "Alpha Precision GmbH" in by_id.text
    assert "no account matches" in client.get("/explain/sb", params={"q": "zzzz-nope"}).text
    missing = client.get("/explain/sb/001NOPE")
    assert missing.status_code == 404 and "No account 001NOPE" in missing.text


def test_explain_says_when_the_scores_are_still_being_read(ui_site, make_client) -> None:
    site = ui_site()
    site.run()
    client = make_client(site)
    console = client.app.state.console
    with console._snapshot_lock:  # the warm-up is reading them
        page = client.get("/explain/sb", params={"q": "alpha"})
    assert 'http-equiv="refresh"' in page.text and "Reading the scores of run" in page.text
    assert "Alpha Precision GmbH" in client.get("/explain/sb", params={"q": "alpha"}).text


def test_explain_before_any_run_says_what_to_do(ui_site, make_client) -> None:
    client = make_client(ui_site())
    assert "run a plan or a run first" in client.get("/explain/sb").text


def test_runs_page_lists_changes_rejections_and_rolls_back(ui_site, make_client) -> None:
    site = ui_site()
    report = site.run()
    client = make_client(site)
    history = text_of(client.get("/runs/sb").text)
    assert f"{report.run_id} sync succeeded" in history
    detail = client.get(f"/runs/sb/{report.run_id}")
    assert detail.status_code == 200
    assert "Value_Quadrant__c" in detail.text and 'id="rollback"' in detail.text
    assert "page 1" in text_of(detail.text) and 'class="next"' in detail.text  # > 50 changes
    second = client.get(f"/runs/sb/{report.run_id}", params={"page": "2"})
    assert "page 2" in text_of(second.text) and "previous" in text_of(second.text)
    rows = re.findall(
        r"<tr><td>(accounts|opportunities)</td><td>([^<]+)</td><td>([^<]+)</td>",
        detail.text + second.text,
    )
    assert len(rows) == 100 and len(set(rows)) == 100  # two pages, no row twice
    writes = site.write_count
    refused = client.post(f"/runs/sb/{report.run_id}/rollback", headers=csrf(client))
    assert refused.status_code == 400 and site.write_count == writes
    client.post(f"/runs/sb/{report.run_id}/rollback", headers=csrf(client), data={"confirm": "yes"})
    job = wait_job(client)
    assert job.status == "done", job.error
    assert job.result.restored > 0 and site.write_count > writes
    assert "rollback" in text_of(client.get("/runs/sb").text)


def test_unknown_connection_and_run_are_clear_messages(ui_site, make_client) -> None:
    client = make_client(ui_site())
    page = client.get("/explain/nope")
    assert page.status_code == 404 and "no connection 'nope'" in text_of(page.text)
    assert "Traceback" not in page.text
    run = client.get("/runs/sb/999")
    assert run.status_code == 400 and "there is no run 999" in text_of(run.text)


@pytest.mark.slow
def test_report_is_built_once_and_embedded(ui_site, make_client) -> None:
    site = ui_site()
    site.run()
    client = make_client(site)
    page = client.get("/report/sb")
    assert 'id="report-frame"' in page.text
    deadline = time.monotonic() + 120
    frame = client.get("/report/sb/page")
    while "report-building" in frame.text and time.monotonic() < deadline:
        time.sleep(0.5)
        frame = client.get("/report/sb/page")
    assert "Fix or Reprice" in frame.text and len(frame.text) > 1e6


def test_hubspot_pages_work_the_same(ui_site, make_client) -> None:
    site = ui_site("hubspot")
    site.run()
    client = make_client(site)
    mapping = client.get("/mapping/sb")
    assert mapping.status_code == 200, text_of(mapping.text)[:500]
    assert '<select name="objects.accounts.fields.region"' in mapping.text
    assert "provisioned" in text_of(mapping.text)
    hits = client.get("/explain/sb", params={"q": "alpha"})
    link = re.search(r'href="(/explain/sb/[^"]+)">Alpha Precision GmbH', hits.text)
    assert link
    page = client.get(link.group(1))
    crm = site.records("accounts")[link.group(1).rsplit("/", 1)[1]]
    reason = re.search(r'<q id="reason">(.*?)</q>', page.text, flags=re.S).group(1)
    assert unescape(reason) == crm[out_field(site, "accounts", "reason")]
    assert 'id="crm-link"' not in page.text  # no portal id in the settings: no link
    assert client.get("/model/sb").status_code == 200
    project = yaml.safe_load(site.project_file.read_text())
    project["connections"]["sb"]["hubspot"]["portal_id"] = 4412
    site.project_file.write_text(yaml.safe_dump(project, sort_keys=False))
    record_id = link.group(1).rsplit("/", 1)[1]
    linked = client.get(link.group(1)).text
    href = re.search(r'id="crm-link" href="([^"]+)"', linked)
    assert href, "with the portal id the account links to its HubSpot record page"
    assert href.group(1) == f"https://app.hubspot.com/contacts/4412/record/0-2/{record_id}"
