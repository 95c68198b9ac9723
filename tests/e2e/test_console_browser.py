"""The console in headless Chromium against the sandbox CRM: map a field and see the plan
change, map a missing picklist value, move accounts with a weight, explain the A/B pair,
provision fields, run with live progress; bad input is refused next to its field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from console_browser import (
    CHROMEDRIVER,
    CHROMIUM,
    SKIP_REASON,
    ConsoleServer,
    chrome,
    screenshot,
    wait_for,
)

from sync.ui.context import Console
from tests.integration.pipeline.conftest import AS_OF, Site, make_site
from tests.integration.ui.conftest import own_mapping
from tests.integration.ui.test_console_editors import unmap_downgrade

pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None, reason=SKIP_REASON)
__all__ = ["make_site"]
REGION = "objects.accounts.fields.region"
DOWNGRADE = "Existing Customer - Downgrade"


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    browser = chrome()
    yield browser
    browser.quit()


@pytest.fixture
def console(make_site: Callable[..., Site]) -> Iterator[Callable[..., tuple[Site, str]]]:
    """Factory: a sandbox site (own mapping file) and the URL of its console."""
    servers: list[ConsoleServer] = []

    def factory(*, run: bool = True, provision: bool = True) -> tuple[Site, str]:
        site = own_mapping(make_site("salesforce", accounts=80, provision=provision))
        if run:
            site.run()
        server = ConsoleServer(
            Console(site.project_file, as_of=AS_OF, env=site.env, ready_wait=120)
        ).start()
        servers.append(server)
        return site, server.url

    yield factory
    for server in servers:
        server.stop()


def by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def select(driver: Any, name: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(by_id(driver, name)).select_by_value(value)


def job_id(driver: Any) -> str:
    """The id of the job whose panel the page shows ('' when none)."""
    panels = css(driver, "#job-panel")
    return str(panels[0].get_attribute("data-job")) if panels else ""


def job_done(driver: Any, before: str | None = None) -> str:
    """Wait until the panel of a job other than `before` says done (or failed); its text,
    whitespace collapsed."""
    script = (
        "const s = document.getElementById('job-status');"
        "const p = document.getElementById('job-panel');"
        "const ended = s && ['done', 'failed'].includes(s.dataset.status);"
        "return ended && p.dataset.job !== arguments[0] ? [s.dataset.status, p.innerText] : null;"
    )
    status, text = wait_for(
        lambda: driver.execute_script(script, before or "-"), 120, "the job to end"
    )
    assert status == "done", text
    return " ".join(str(text).split())


def plan_changes(driver: Any, url: str) -> int:
    driver.get(f"{url}/connections")
    before = job_id(driver)
    by_id(driver, "plan-sb").click()
    text = job_done(driver, before)
    return int(
        re.search(r"plan as of \S+: ([\d,]+) records would change", text).group(1).replace(",", "")
    )


def test_map_a_field_through_the_dropdown_and_see_the_plan_change(driver, console) -> None:
    site, url = console()
    assert plan_changes(driver, url) == 0
    driver.get(f"{url}/mapping/sb")
    select(driver, REGION, "Type")
    by_id(driver, "preview-mapping").click()
    diff = wait_for(lambda: by_id(driver, "diff").text, what="the diff")
    assert "+      region: Type" in diff
    driver.set_window_size(1400, 1500)
    screenshot(driver, "console-mapping.png")
    driver.set_window_size(1400, 1000)
    by_id(driver, "save-mapping").click()
    assert "saved salesforce.yaml" in wait_for(lambda: by_id(driver, "saved").text)
    assert "region: Type" in (site.folder / "salesforce.yaml").read_text()
    assert plan_changes(driver, url) > 0


def test_map_a_missing_picklist_value(driver, console) -> None:
    site, url = console(run=False)
    unmap_downgrade(site)
    driver.get(f"{url}/mapping/sb")
    row = css(driver, f'tr.unmapped[data-crm-value="{DOWNGRADE}"]')
    assert row, "the unmapped CRM value is highlighted"
    field = row[0].find_element("css selector", "input")
    field.send_keys("renewal")
    by_id(driver, "preview-mapping").click()
    by_id(driver, "save-mapping").click()
    wait_for(lambda: by_id(driver, "saved"))
    driver.get(f"{url}/mapping/sb")
    assert not css(driver, f'tr.unmapped[data-crm-value="{DOWNGRADE}"]')
    assert css(driver, f'tr[data-crm-value="{DOWNGRADE}"]')
    assert f"{DOWNGRADE}: renewal" in (site.folder / "salesforce.yaml").read_text()


def test_change_a_weight_and_see_the_preview_move_accounts(driver, console) -> None:
    site, url = console()
    driver.get(f"{url}/model/sb")
    weight = by_id(driver, "value.criteria.0.weight")
    weight.clear()
    weight.send_keys("90")
    by_id(driver, "fit.criteria.3.weight").click()  # leave the field: a change event
    moved = wait_for(lambda: css(driver, "#moved-count"), what="the preview")
    assert int(moved[0].get_attribute("data-moved")) > 0
    assert css(driver, "#moved tr.moved")
    assert "weight: 25" in (site.folder / "value_model.yaml").read_text()  # nothing saved


def test_explain_the_a_b_pair(driver, console) -> None:
    site, url = console()
    seen = {}
    for name in ("Alpha Precision GmbH", "Beta Bulk Trading Ltd"):
        driver.get(f"{url}/explain/sb")
        box = by_id(driver, "q")
        box.send_keys(name.split()[0])
        by_id(driver, "search").click()
        wait_for(lambda n=name: [a for a in css(driver, "#hits a") if a.text == n])[0].click()
        wait_for(lambda: css(driver, "#criteria"), what="the explain page")
        account_id = driver.current_url.rsplit("/", 1)[1]
        crm = site.records("accounts")[account_id]
        assert by_id(driver, "reason").text == crm["Value_Reason__c"]
        assert by_id(driver, "quadrant").text == crm["Value_Quadrant__c"]
        assert len(css(driver, "#criteria tr")) > 10 and css(driver, "#rules tr")
        seen[name] = by_id(driver, "quadrant").text
        if name.startswith("Beta"):
            screenshot(driver, "console-explain.png")
    assert seen["Alpha Precision GmbH"] == "Core" != seen["Beta Bulk Trading Ltd"]


def test_provision_fields(driver, console) -> None:
    site, url = console(run=False, provision=False)
    driver.get(f"{url}/mapping/sb")
    states = [e.text for e in css(driver, "td.output-state")]
    assert states and all(s.startswith("missing") for s in states)
    by_id(driver, "provision-sb").click()
    job_done(driver)
    driver.get(f"{url}/mapping/sb")
    assert {e.text for e in css(driver, "td.output-state")} == {"provisioned"}


def test_run_and_see_progress_to_the_end(driver, console) -> None:
    site, url = console(run=False)
    driver.get(f"{url}/connections")
    by_id(driver, "run-sb").click()
    alert = wait_for(lambda: driver.switch_to.alert, 30, "the confirmation")
    assert "writes the changed values to the CRM" in alert.text
    alert.accept()
    wait_for(lambda: css(driver, "#job-panel .task"), what="progress bars")
    text = job_done(driver)
    assert "push accounts 80 / 80 ✓" in text and "succeeded" in text
    assert site.write_count > 0
    driver.get(f"{url}/connections")  # leave and come back: the outcome is still there
    assert "succeeded" in job_done(driver)
    screenshot(driver, "console-connections.png")


def test_bad_input_is_refused_next_to_the_field(driver, console) -> None:
    site, url = console()
    mapping, model = site.folder / "salesforce.yaml", site.folder / "value_model.yaml"
    saved = mapping.read_text(), model.read_text()
    driver.get(f"{url}/mapping/sb")  # an unknown field
    driver.execute_script(
        "const s = document.getElementById(arguments[0]);"
        "s.add(new Option('No_Such_Field__c', 'No_Such_Field__c', true, true));",
        REGION,
    )
    by_id(driver, "preview-mapping").click()
    cell = wait_for(lambda: by_id(driver, REGION).find_element("xpath", ".."))
    assert "field 'No_Such_Field__c' is not on Account" in cell.text
    assert not css(driver, "#save-mapping")
    driver.get(f"{url}/model/sb")  # a wrong type and an invalid rule
    weight = by_id(driver, "value.criteria.0.weight")
    weight.clear()
    weight.send_keys("lots")
    rule = by_id(driver, "rules.0.rules.1.when")
    rule.clear()
    rule.send_keys('{field: value_band, op: "~~", value: high}')
    by_id(driver, "check-model").click()
    wait_for(lambda: css(driver, ".field-error"))
    assert (
        "valid number" in by_id(driver, "value.criteria.0.weight").find_element("xpath", "..").text
    )
    assert (
        "Input should be '=='"
        in by_id(driver, "rules.0.rules.1.when").find_element("xpath", "..").text
    )
    assert not css(driver, "#save-model")
    driver.get(f"{url}/mapping/sb")  # a concurrent edit of the same file
    mapping.write_text(saved[0].replace("domain: Website", "domain: Website  # theirs"))
    select(driver, REGION, "Type")
    by_id(driver, "preview-mapping").click()
    assert "the file changed since this page was opened" in wait_for(
        lambda: " ".join(e.text for e in css(driver, ".general-error"))
    )
    assert "# theirs" in mapping.read_text() and "region: Type" not in mapping.read_text()
    assert model.read_text() == saved[1]
