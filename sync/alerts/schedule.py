"""The value review digest on a schedule of its own (default: monthly), in the same
APScheduler job store as the runs (sync/scheduler.py), so every `scheduler start`
process sharing the state database sees it. Two workers firing the same digest send it
once: its notification has a unique key per pair of runs (sync/alerts/digest.py).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from mappings.errors import ConfigError, ConfigProblem, ValuesyncError
from mappings.project import LoadedProject
from sync.scheduler import DEFAULT_MISFIRE_GRACE, ScheduledJob, Schedules, _job, cron_trigger

log = logging.getLogger(__name__)
DIGEST_FUNC = "sync.alerts.schedule:digest_connection"


def digest_connection(project_path: str, connection: str) -> dict[str, Any]:
    """The scheduled digest job; never raises (a failure is logged in one line)."""
    from mappings.project import load_project
    from sync.alerts.digest import send_digest

    try:
        result = send_digest(load_project(Path(project_path)), connection)
    except ValuesyncError as exc:
        log.error("scheduled digest of %s failed: %s", connection, exc)
        return {"connection": connection, "status": "failed", "message": str(exc)}
    log.info(
        "scheduled digest of %s: %d mover(s), sent=%s",
        connection,
        len(result.movers),
        result.event_id is not None,
    )
    return {"connection": connection, "status": "digest", "sent": result.event_id is not None}


def schedule_digest(
    store: Schedules, project: LoadedProject, connection: str | None
) -> ScheduledJob:
    """Store the digest job of a connection with the project's `alerts.digest.schedule`."""
    config = project.project.alerts
    if config is None or config.digest is None:
        raise ConfigError(
            [
                ConfigProblem(
                    str(project.path), "alerts.digest", "no digest is configured; add alerts.digest"
                )
            ]
        )
    name = project.connection(connection)[0]
    path = str(project.path.resolve())
    trigger = cron_trigger(config.digest.schedule, str(project.path), "alerts.digest.schedule")
    job_id = f"{name}-digest-{hashlib.sha1(f'{path}|digest'.encode()).hexdigest()[:8]}"
    job = store.scheduler.add_job(
        DIGEST_FUNC,
        trigger,
        args=(path, name),
        id=job_id,
        name=f"valuesync digest {name}",
        replace_existing=True,
        misfire_grace_time=DEFAULT_MISFIRE_GRACE,
    )
    return _job(store.scheduler.get_job(job.id))
