"""Alert bookkeeping shared by scheduler workers: one notification per status change.

Each test opens the same database from several StateDB instances (as several worker
processes do) and lets them race in threads; SQLite and PostgreSQL both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sync.state.alerts import AlertStore
from sync.state.db import StateDB

WORKERS = 4


def race(state_url: str, work: Callable[[AlertStore], Any]) -> list[Any]:
    """Run `work` in WORKERS threads at once, each with its own StateDB (its own pool)."""
    dbs = [StateDB(state_url) for _ in range(WORKERS)]
    barrier = threading.Barrier(WORKERS)
    results: list[Any] = [None] * WORKERS

    def one(i: int) -> None:
        barrier.wait()
        results[i] = work(AlertStore(dbs[i]))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for db in dbs:
        db.close()
    return results


def test_a_status_change_is_claimed_by_one_worker(state_url: str) -> None:
    StateDB(state_url).close()  # migrate once
    fired = race(state_url, lambda s: s.transition("sb", "run_failed", True, "critical", "x", 1))
    assert sum(t is not None for t in fired) == 1
    again = race(state_url, lambda s: s.transition("sb", "run_failed", True, "critical", "x", 2))
    assert again == [None] * WORKERS  # still firing: nothing to say
    cleared = race(state_url, lambda s: s.transition("sb", "run_failed", False, "critical", "", 3))
    changes = [t for t in cleared if t is not None]
    assert len(changes) == 1 and (changes[0].status, changes[0].previous) == ("ok", "firing")


def test_first_sight_of_a_quiet_trigger_is_no_change(state_url: str) -> None:
    db = StateDB(state_url)
    store = AlertStore(db)
    assert store.transition("sb", "slow_run", False, "warning", "fine", 1) is None
    assert store.states("sb")[0]["status"] == "ok"
    db.close()


def test_one_event_per_key_and_each_delivery_sent_by_one_worker(state_url: str) -> None:
    StateDB(state_url).close()
    doc = {"subject": "s", "text": "t", "html": "<p>t</p>", "severity": "info", "payload": {}}

    def add(store: AlertStore) -> int | None:
        return store.add_event(
            dedup_key="sb|run_failed|firing|1",
            connection="sb",
            trigger="run_failed",
            kind="fired",
            severity="critical",
            subject="s",
            body=doc,
            run_id=1,
            channels=["mail", "hook"],
        )

    ids = race(state_url, add)
    assert len([i for i in ids if i is not None]) == 1

    def claim_all(store: AlertStore) -> list[str]:
        return [d.channel for d in store.due("sb", 5) if store.claim_delivery(d)]

    claimed = race(state_url, claim_all)
    assert sorted(c for cs in claimed for c in cs) == ["hook", "mail"]
    db = StateDB(state_url)
    store = AlertStore(db)
    assert store.due("sb", 5) == []  # claimed ones are 'sending', not due
    events = store.events("sb")
    assert [d["attempts"] for d in events[0]["deliveries"]] == [1, 1]
    db.close()


def test_failed_delivery_is_due_again_until_attempts_run_out(state_url: str) -> None:
    db = StateDB(state_url)
    store = AlertStore(db)
    doc = {"subject": "s", "text": "t", "html": "h", "severity": "info", "payload": {}}
    store.add_event(
        dedup_key="k",
        connection="sb",
        trigger="t",
        kind="fired",
        severity="info",
        subject="s",
        body=doc,
        run_id=None,
        channels=["mail"],
    )
    for attempt in range(1, 3):
        (d,) = store.due("sb", max_attempts=2)
        assert d.attempts == attempt - 1 and store.claim_delivery(d)
        store.finish_delivery(d, "smtp down", give_up=attempt == 2)
    assert store.due("sb", max_attempts=2) == []
    assert store.events("sb")[0]["deliveries"][0]["status"] == "given_up"
    db.close()


def test_a_task_key_is_claimed_once_and_failures_are_claimable_again(state_url: str) -> None:
    StateDB(state_url).close()
    rows = [
        {
            "external_key": f"vs-{i}",
            "account_id": f"A{i}",
            "owner_id": "U1",
            "spec": {"subject": "s"},
        }
        for i in range(10)
    ]
    claimed = race(state_url, lambda s: s.claim_tasks("sb", rows, 1))
    assert sorted(k for ks in claimed for k in ks) == sorted(r["external_key"] for r in rows)
    db = StateDB(state_url)
    store = AlertStore(db)
    store.finish_tasks("sb", {f"vs-{i}": f"T{i}" for i in range(9)}, {"vs-9": "UNABLE_TO_LOCK"})
    assert store.claim_tasks("sb", rows, 2) == ["vs-9"]  # created ones never again
    assert {r["status"] for r in store.tasks("sb")} == {"created", "claimed"}
    db.close()
