"""The value review digest: per account manager, the accounts that moved and why.

```python
result = send_digest(project, connection, env=os.environ)   # what the schedule calls
```

It covers the runs since the previous digest (or `since` / `until` run ids): the accounts
whose quadrant differs between the two runs, grouped by owner, each with its reasons and
what the rules now say to do; then revenue vs value shares per quadrant; the report PNG
of the newer run attached. It goes to the digest's channels once per pair of runs (a
unique key), and as a CRM task list per owner: one task per moved account. With
`per_owner`, each account manager also gets an e-mail of their own movers, at the
address the CRM has for them (or the project's map), once per pair of runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from mappings.alerts import PerOwner
from mappings.errors import ConfigError, ConfigProblem, ValuesyncError
from mappings.project import LoadedProject
from sync.alerts import messages
from sync.alerts.deliver import deliver_due
from sync.alerts.evaluate import connector_factory
from sync.alerts.movers import baseline_run, finished_sync_runs, movers, scored_accounts
from sync.alerts.tasks import create_once, migration_tasks
from sync.state.alerts import AlertStore
from sync.state.db import StateDB
from value_engine.alerts import shares_by_quadrant

log = logging.getLogger(__name__)
DIGEST = "digest"
OWNER_DIGEST = "digest_owner"


@dataclass
class DigestResult:
    """What a digest covered and sent."""

    connection: str
    since_run: int | None
    until_run: int | None
    movers: pd.DataFrame = field(default_factory=pd.DataFrame)
    event_id: int | None = None
    """None when there was nothing to cover, or this pair of runs was digested before."""
    tasks_created: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    owner_events: dict[str, int] = field(default_factory=dict)
    """Owner id -> event of the e-mail to that account manager (per_owner)."""
    unaddressed: list[str] = field(default_factory=list)
    """Owners with movers but no known address: the full digest covers them."""


def send_digest(
    project: LoadedProject,
    connection: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    since: int | None = None,
    until: int | None = None,
    report_png: Path | None = None,
) -> DigestResult:
    """Build the digest of `connection` and hand it to its channels (and CRM tasks)."""
    config = project.project.alerts
    if config is None or config.digest is None:
        raise ConfigError(
            [
                ConfigProblem(
                    str(project.path), "alerts.digest", "no digest is configured; add alerts.digest"
                )
            ]
        )
    env = os.environ if env is None else env
    name = project.connection(connection)[0]
    from sync.pipeline.session import open_state

    state = open_state(project, env)
    try:
        store = AlertStore(state)
        until = until or _latest_success(state, name)
        since = since or (_last_digested(store, name) if until else None)
        if until is not None and since is None:
            since = baseline_run(state, name, until)
        result = DigestResult(name, since, until)
        if since is None or until is None or since == until:
            return result
        result.movers = movers(state, name, since, until)
        shares = shares_by_quadrant(scored_accounts(state, name, until))
        png = report_png or _report_png(project, state, name, until)
        result.body = render(name, since, until, result.movers, shares, png)
        channels = config.channels_for(config.digest.channels)
        result.event_id = store.add_event(
            dedup_key=f"{name}|digest|{since}|{until}",
            connection=name,
            trigger=DIGEST,
            kind=DIGEST,
            severity="info",
            subject=result.body["subject"],
            body=result.body,
            run_id=until,
            channels=channels,
        )
        if result.event_id is not None and len(result.movers):
            for channel in config.crm_channels(config.digest.channels, name):
                specs = migration_tasks(
                    name,
                    result.movers,
                    f"digest:{until}",
                    what=DIGEST,
                    due_in_days=channel.due_in_days,
                    severity="info",
                )
                done = create_once(store, name, specs, connector_factory(project, name, env), until)
                result.tasks_created += len(done.created)
        if result.event_id is not None and config.digest.per_owner and len(result.movers):
            _per_owner(project, store, result, config.digest.per_owner, shares, png, env)
        deliver_due(store, config, name, env)
        return result
    finally:
        state.close()


def _per_owner(
    project: LoadedProject, store: AlertStore, result: DigestResult, per_owner: PerOwner,
    shares: pd.DataFrame, png: Path | None, env: Mapping[str, str],
) -> None:  # fmt: skip
    """An e-mail to each account manager with movers: their accounts only."""
    name, since, until, moved = result.connection, result.since_run, result.until_run, result.movers
    if since is None or until is None or "owner_id" not in moved.columns:
        return
    owners = moved["owner_id"].astype(object).where(moved["owner_id"].notna(), None)
    wanted = sorted({str(o) for o in owners if o is not None})
    addresses = _addresses(project, name, per_owner, wanted, env)
    result.unaddressed = [o for o in wanted if o not in addresses]
    for owner in wanted:
        if owner not in addresses:
            continue
        part = moved[(owners == owner).to_numpy()].reset_index(drop=True)
        body = render(name, since, until, part, shares, png, owner=owner)
        body["to"] = [addresses[owner]]
        event = store.add_event(
            dedup_key=f"{name}|digest|{since}|{until}|owner|{owner}", connection=name,
            trigger=DIGEST, kind=OWNER_DIGEST, severity="info", subject=body["subject"],
            body=body, run_id=until, channels=[per_owner.channel],
        )  # fmt: skip
        if event is not None:
            result.owner_events[owner] = event
    if result.unaddressed:
        log.warning("digest of %s: no e-mail address for owner(s) %s; the full digest "
                    "covers them", name, ", ".join(result.unaddressed))  # fmt: skip


def _addresses(
    project: LoadedProject, name: str, per_owner: PerOwner, owners: list[str],
    env: Mapping[str, str],
) -> dict[str, str]:  # fmt: skip
    """Owner id -> address: the project's map, or the CRM's users / owners."""
    if isinstance(per_owner.addresses, dict):
        return {o: per_owner.addresses[o] for o in owners if o in per_owner.addresses}
    try:
        found = connector_factory(project, name, env)().owner_emails(owners)
        return {str(k): str(v) for k, v in found.items()}
    except ValuesyncError as exc:  # the full digest still goes out; say why these did not
        log.warning("digest of %s: owners' addresses could not be read from the CRM: %s",
                    name, exc)  # fmt: skip
        return {}


def _latest_success(state: StateDB, name: str) -> int | None:
    for r in finished_sync_runs(state, name):
        if r["status"] in ("succeeded", "succeeded_with_rejections") and state.has_scores(r["id"]):
            return int(r["id"])
    return None


def _last_digested(store: AlertStore, name: str) -> int | None:
    for e in store.events(name, limit=200):
        if e["kind"] == DIGEST:
            return int(e["body"]["payload"]["until_run"])
    return None


def _report_png(project: LoadedProject, state: StateDB, name: str, run_id: int) -> Path | None:
    """The value matrix PNG of the run (sync/report), written under the project's cache."""
    try:
        from sync.pipeline.model_file import load_value_model
        from sync.report.build import write_report
        from sync.report.data import ReportInput
        from sync.report.sources import StateSource

        conn = project.connection(name)[1]
        model = load_value_model(project.resolve(conn.value_model))
        source = StateSource(state, name, model)
        out = project.root / ".valuesync" / "digest" / f"{name}-run-{run_id}.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        return write_report(ReportInput(current=source.scores(run_id)), out).png
    except Exception:  # a digest without its picture is still worth sending
        log.exception("digest: the report PNG could not be drawn; sending without it")
        return None


def render(
    connection: str,
    since: int,
    until: int,
    moved: pd.DataFrame,
    shares: pd.DataFrame,
    png: Path | None,
    *,
    owner: str | None = None,
) -> dict[str, Any]:
    """The digest as text and HTML: per owner the movers, then shares per quadrant (with
    `owner`: the digest for that account manager, whose movers `moved` holds)."""
    whose = f" for account manager {owner}" if owner else ""
    subject = f"[valuesync {connection}] Value review{whose}: {len(moved)} account(s) moved"
    intro = (
        f"Accounts whose value quadrant changed between run {since} and run {until}, "
        "per account manager, with the reasons and what the rules now say to do."
    )
    text, html = [intro, ""], [f"<p>{escape(intro)}</p>"]
    owners = moved["owner_id"].fillna("(no owner)").astype(str) if "owner_id" in moved else None
    groups = moved.groupby(owners, sort=True) if owners is not None else []
    for owner, part in groups:
        rows = messages.mover_rows(part)
        title = f"Account manager {owner}: {len(part)} account(s)"
        text += [title, messages.table_text(messages.MOVER_COLUMNS, rows), ""]
        html += [
            f"<h3 style='margin:16px 0 4px 0;font-size:15px'>{escape(title)}</h3>",
            messages.table_html(messages.MOVER_COLUMNS, rows),
        ]
    if moved.empty:
        text.append("No account changed quadrant.")
        html.append("<p>No account changed quadrant.</p>")
    share_cols = ("Quadrant", "Accounts", "Revenue share", "Value share")
    share_rows = [
        [q, int(n), f"{r:.1%}", f"{v:.1%}"]
        for q, n, r, v in shares[
            ["quadrant", "accounts", "revenue_share", "value_share"]
        ].itertuples(index=False)
    ]
    text += [
        f"Revenue vs value per quadrant (run {until})",
        messages.table_text(share_cols, share_rows),
    ]
    html += [
        f"<h3 style='margin:16px 0 4px 0;font-size:15px'>Revenue vs value per quadrant "
        f"(run {until})</h3>",
        messages.table_html(share_cols, share_rows),
    ]
    if png is not None:
        text.append(f"\nThe value matrix is attached ({png.name}).")
        html.append(
            f"<p style='font-size:12px'>The value matrix is attached ({escape(png.name)}).</p>"
        )
    payload = {
        "event": DIGEST,
        "connection": connection,
        "since_run": since,
        "until_run": until,
        "accounts": [
            {"account_id": str(a), "owner_id": o, "from": f, "to": t}
            for a, o, f, t in zip(
                moved.get("account_id", []),
                moved.get("owner_id", [None] * len(moved)),
                moved.get("from_quadrant", []),
                moved.get("to_quadrant", []),
                strict=True,
            )
        ],
    }
    return messages.body(
        subject,
        "\n".join(text),
        messages.page(subject, "info", "".join(html)),
        "info",
        payload,
        [str(png)] if png is not None else [],
    )
