"""The value review digest: exactly the movers between two runs, per owner, text and HTML,
the report PNG attached, a CRM task list per owner, sent once per pair of runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from sync import scheduler
from sync.alerts.digest import send_digest
from sync.alerts.schedule import schedule_digest
from tests.integration.alerts.conftest import Receiver, Smtp, add_alerts, channels
from tests.integration.alerts.test_migration_tasks import crm_tasks, owners
from tests.integration.pipeline.conftest import CRMS, Site, edit, out_field

DIGEST = {"channels": ["mail", "hook", "owners"]}


def test_digest_lists_exactly_the_movers_between_two_runs(
    alert_site: Callable[..., Site], smtp: Smtp, receiver: Receiver
) -> None:
    site = alert_site("salesforce", [], accounts=300, digest=DIGEST)
    first = site.run()
    state = site.state()
    try:
        scores = state.scores(int(first.run_id), "accounts")
    finally:
        state.close()
    quadrant = dict(
        zip(scores["account_id"].astype(str), scores["quadrant"].astype(str), strict=True)
    )
    core = sorted(a for a, q in quadrant.items() if q == "Core")[:3]
    develop = sorted(a for a, q in quadrant.items() if q == "Develop")[:2]
    override = out_field(site, "accounts", "quadrant_override")
    for account in core:
        edit(site, "accounts", account, {override: "Fix or Reprice"})
    for account in develop:
        edit(site, "accounts", account, {override: "Core"})
    second = site.run()

    result = send_digest(site.project(), env=site.env)
    assert (result.since_run, result.until_run) == (first.run_id, second.run_id)
    expected = {
        **{a: ("Core", "Fix or Reprice") for a in core},
        **{a: ("Develop", "Core") for a in develop},
    }
    got = {str(r.account_id): (r.from_quadrant, r.to_quadrant) for r in result.movers.itertuples()}
    assert got == expected

    assert len(smtp.box.messages) == 1
    mail = smtp.box.messages[0]
    assert "Value review: 5 account(s) moved" in mail["Subject"]
    parts = {p.get_content_type(): p for p in mail.walk() if not p.is_multipart()}
    text, html = parts["text/plain"].get_content(), parts["text/html"].get_content()
    owner_of = owners(site)
    for account in expected:
        name = site.records("accounts")[account]["Name"]
        assert name in text and name in html
        assert f"Account manager {owner_of[account]}" in text
    assert "Revenue vs value per quadrant" in text and "Value share" in html
    assert parts["image/png"].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    hook = receiver.on("/hook")
    assert len(hook) == 1 and hook[0].signed()
    assert {a["account_id"] for a in hook[0].json()["accounts"]} == set(expected)

    tasks = crm_tasks(site)  # the CRM task list per owner: one task per moved account
    assert sorted(t["account"] for t in tasks) == sorted(expected)
    assert all(t["owner"] == owner_of[t["account"]] for t in tasks)

    again = send_digest(site.project(), env=site.env)  # nothing new since the last digest
    assert again.event_id is None
    repeat = send_digest(site.project(), env=site.env, since=first.run_id, until=second.run_id)
    assert repeat.event_id is None  # that pair of runs was digested already
    assert len(smtp.box.messages) == 1 and len(crm_tasks(site)) == 5


def test_scheduled_digest_runs_from_the_shared_job_store(
    alert_site: Callable[..., Site],
    smtp: Smtp,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = alert_site(
        "hubspot", [], accounts=120, digest={"channels": ["hook"], "schedule": "0 7 1 * *"}
    )
    site.run()
    state = site.state()
    try:
        scores = state.scores(int(state.latest_run("sb")), "accounts")  # type: ignore[arg-type]
    finally:
        state.close()
    first_core = str(scores.loc[scores["quadrant"].astype(str) == "Core", "account_id"].iloc[0])
    edit(
        site, "accounts", first_core, {out_field(site, "accounts", "quadrant_override"): "Develop"}
    )
    site.run()
    project = site.project()
    url = scheduler.state_url(project, site.env)
    with scheduler.Schedules(url) as store:
        job = schedule_digest(store, project, None)
    assert job.trigger == "cron 0 7 1 * *" and job.next_run is not None
    assert job.next_run.day == 1 and job.next_run.hour == 7
    assert scheduler.next_run(url, "sb") is None  # a digest is not a run

    for key in ("ALERT_WEBHOOK_URL", "ALERT_WEBHOOK_SECRET"):  # the scheduler reads os.environ
        monkeypatch.setenv(key, site.env[key])
    results = scheduler.run_due(url, now=datetime.now(UTC) + timedelta(days=40))
    assert results == [{"connection": "sb", "status": "digest", "sent": True}]
    hook = receiver.on("/hook")
    assert len(hook) == 1 and hook[0].signed()
    assert [a["account_id"] for a in hook[0].json()["accounts"]] == [first_core]


def _move(site: Site, first_run: int | None, n_core: int) -> dict[str, str]:
    """Override `n_core` Core accounts to Fix or Reprice; account -> its owner."""
    state = site.state()
    try:
        scores = state.scores(int(first_run or 0), "accounts")
    finally:
        state.close()
    core = sorted(scores.loc[scores["quadrant"] == "Core", "account_id"].astype(str))[:n_core]
    override = out_field(site, "accounts", "quadrant_override")
    for account in core:
        edit(site, "accounts", account, {override: "Fix or Reprice"})
    owner_of = owners(site)
    return {a: owner_of[a] for a in core}


@pytest.mark.parametrize("crm", CRMS)
def test_each_account_manager_gets_their_own_movers_at_the_address_the_crm_has(
    crm: str, alert_site: Callable[..., Site], smtp: Smtp, receiver: Receiver
) -> None:
    digest = {"channels": ["mail"], "per_owner": {"channel": "mail", "addresses": "crm"}}
    site = alert_site(crm, [], accounts=300, digest=digest)
    first = site.run()
    moved = _move(site, first.run_id, 8)
    site.run()

    result = send_digest(site.project(), env=site.env)
    by_owner: dict[str, set[str]] = {}
    for account, owner in moved.items():
        by_owner.setdefault(owner, set()).add(account)
    assert len(by_owner) > 1, "the sample spreads accounts over several reps"
    assert set(result.owner_events) == set(by_owner) and result.unaddressed == []

    # the full digest to the channel's list, then one e-mail per owner, to that owner only
    assert smtp.box.recipients[0] == ["ops@example.test"]
    personal = list(zip(smtp.box.recipients[1:], smtp.box.messages[1:], strict=True))
    assert len(personal) == len(by_owner)
    names = {a: site.records("accounts")[a]["Name" if crm == "salesforce" else "name"]
             for a in moved}  # fmt: skip
    seen_addresses = set()
    for (address,), mail in personal:
        assert address.endswith("@sandbox.valuesync.test") and mail["To"] == address
        seen_addresses.add(address)
        owner = next(o for o in by_owner if f"account manager {o}:" in str(mail["Subject"]))
        parts = {p.get_content_type(): p for p in mail.walk() if not p.is_multipart()}
        text = parts["text/plain"].get_content()
        mine = {a for a in moved if names[a] in text}
        assert mine == by_owner[owner], "only this owner's movers, all of them"
        assert f"{len(mine)} account(s) moved" in str(mail["Subject"])
    assert len(seen_addresses) == len(by_owner), "a different address per owner"

    again = send_digest(site.project(), env=site.env)
    assert again.event_id is None and again.owner_events == {}
    assert len(smtp.box.messages) == 1 + len(by_owner)  # nothing sent twice


def test_an_owner_without_an_address_is_named_and_the_map_is_used(
    alert_site: Callable[..., Site], smtp: Smtp, receiver: Receiver
) -> None:
    site = alert_site("salesforce", [], accounts=300, digest={"channels": ["mail"]})
    first = site.run()
    moved = _move(site, first.run_id, 6)
    site.run()
    known = sorted(set(moved.values()))[0]
    add_alerts(site, {
        "channels": channels(smtp), "triggers": [],
        "digest": {"channels": ["mail"],
                   "per_owner": {"channel": "mail", "addresses": {known: "ann@example.test"}}},
    })  # fmt: skip

    result = send_digest(site.project(), env=site.env)
    assert set(result.owner_events) == {known}
    assert sorted(result.unaddressed) == sorted(set(moved.values()) - {known})
    assert smtp.box.recipients == [["ops@example.test"], ["ann@example.test"]]
