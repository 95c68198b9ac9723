"""One run per connection: acquire / refresh / release, takeover after expiry, two processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from mappings.errors import StateError
from sync.state.db import StateDB

T0 = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


@pytest.fixture
def db(state_url: str):
    state = StateDB(state_url)
    yield state
    state.close()


def test_second_owner_is_refused_with_who_and_until_when(db: StateDB):
    db.acquire_lock("acme-sf", "host-a:1", ttl=TTL, run_id=7, now=T0)
    with pytest.raises(StateError) as info:
        db.acquire_lock("acme-sf", "host-b:2", ttl=TTL, now=T0 + timedelta(minutes=5))
    message = str(info.value)
    for part in ("connection 'acme-sf'", "run 7", "host-a:1", "until 2026-06-30 12:10:00 UTC",
                 "taken over automatically once it expires"):  # fmt: skip
        assert part in message, message
    db.acquire_lock("other-connection", "host-b:2", ttl=TTL, now=T0)  # locks are per connection


def test_refresh_extends_and_release_frees(db: StateDB):
    db.acquire_lock("c", "me", ttl=TTL, now=T0)
    db.refresh_lock("c", "me", ttl=TTL, now=T0 + timedelta(minutes=9))
    with pytest.raises(StateError):  # still held at 12:15 thanks to the refresh
        db.acquire_lock("c", "you", ttl=TTL, now=T0 + timedelta(minutes=15))
    assert db.release_lock("c", "me") is True
    db.acquire_lock("c", "you", ttl=TTL, now=T0 + timedelta(minutes=15))


def test_stale_lock_is_taken_over_and_the_old_owner_learns_it(db: StateDB):
    db.acquire_lock("c", "crashed", ttl=TTL, now=T0)
    db.acquire_lock("c", "next", ttl=TTL, now=T0 + TTL + timedelta(seconds=1))
    with pytest.raises(StateError, match="no longer held by this run"):
        db.refresh_lock("c", "crashed", ttl=TTL, now=T0 + TTL + timedelta(seconds=2))
    assert db.release_lock("c", "crashed") is False


def test_lock_context_manager_releases_on_error(db: StateDB):
    with pytest.raises(RuntimeError), db.lock("c"):
        raise RuntimeError("run failed")
    with db.lock("c") as owner:
        assert owner


CHILD = textwrap.dedent(
    """
    import sys
    from mappings.errors import StateError
    from sync.state.db import StateDB
    db = StateDB(sys.argv[1])
    try:
        with db.lock("acme-sf"):
            print("ACQUIRED")
    except StateError as exc:
        print(f"valuesync: {exc}", file=sys.stderr)
        sys.exit(3)
    """
)


def _child(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, url], capture_output=True, text=True, timeout=120
    )


def test_second_process_exits_with_a_clear_message(db: StateDB, state_url: str):
    with db.lock("acme-sf", run_id=42):
        child = _child(state_url)
        assert child.returncode == 3, child.stderr
        assert "another valuesync run is already working on connection 'acme-sf'" in child.stderr
        assert "run 42" in child.stderr
        assert "ACQUIRED" not in child.stdout
    child = _child(state_url)  # released: the next process runs
    assert child.returncode == 0, child.stderr
    assert "ACQUIRED" in child.stdout


def test_two_processes_racing_get_exactly_one_lock(state_url: str):
    StateDB(state_url).close()  # migrate first: the race is about the lock, not the schema
    race = textwrap.dedent(
        """
        import sys, time
        from mappings.errors import StateError
        from sync.state.db import StateDB
        db = StateDB(sys.argv[1])
        time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
        try:
            db.acquire_lock("race", sys.argv[3])
            print("WON")
        except StateError:
            print("LOST")
        """
    )
    import time

    start = str(time.time() + 3)
    procs = [
        subprocess.Popen([sys.executable, "-c", race, state_url, start, f"p{i}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(4)
    ]  # fmt: skip
    outcomes = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
    assert outcomes == ["LOST", "LOST", "LOST", "WON"], [p.stderr for p in procs]
