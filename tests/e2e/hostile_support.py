"""Helpers of the hostile-CRM-record tests (no tests here): one sandbox CRM per test module,
a fresh project (its own state DB) per case, hostile values put straight into the
sandbox's records, `valuesync run` through the CLI, and the checks every case makes.

A case changes the CRM, runs, and puts the CRM back (the sandbox serves the next case).
Every case asserts: the exit code of the README's table, the record id (or the failing
operation) and the fix in the output, no traceback, no CRM write when the run stopped,
no field other than valuesync's outputs changed, and no output value cleared.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from test_cli_support import AS_OF, make_project, vs

from connectors.sandbox.server import SandboxServer

OBJECTS = {
    "salesforce": {"accounts": "Account", "opportunities": "Opportunity", "tickets": "Case",
                   "invoices": "blng__Invoice__c"},
    "hubspot": {"accounts": "companies", "opportunities": "deals", "tickets": "tickets",
                "invoices": "invoices"},
}  # fmt: skip
STAMPS = {"SystemModstamp", "LastModifiedDate", "hs_lastmodifieddate", "updatedAt"}
SF_OUTPUTS = {
    "Value_Quadrant__c", "Value_Score__c", "Fit_Score__c", "Lifetime_Value__c",
    "Account_Action__c", "Service_Tier__c", "Value_Reason__c", "Value_Scored_At__c",
    "Deal_Priority__c", "Max_Acquisition_Cost__c", "LTV__c", "LTV_To_CAC__c",
    "CAC_Payback_Months__c", "Active_Probability__c", "Value_Lifecycle__c",
}  # fmt: skip
WRITES = ("/composite/sobjects", "/jobs/ingest", "/batch/update")


@dataclass
class Bench:
    """The module's sandbox CRM and the project every case starts from."""

    crm: str
    server: SandboxServer
    base: Path
    root: Path
    writes: list[str] = field(default_factory=list)
    cases: int = 0

    # -- the CRM ----------------------------------------------------------------------
    def store(self) -> Any:
        return self.server.sf.store if self.crm == "salesforce" else self.server.hs.store

    def records(self, table: str) -> dict[str, dict[str, Any]]:
        """The live records of a canonical table, by id, straight from the sandbox."""
        obj = OBJECTS[self.crm][table]
        return self.store().table(obj).records  # type: ignore[no-any-return]

    def ids(self, table: str, n: int = 1, offset: int = 3) -> list[str]:
        """`n` live record ids of `table`, from the middle of the population."""
        live = [i for i, r in self.records(table).items() if not r.get("IsDeleted")
                and not r.get("_archived")]  # fmt: skip
        return sorted(live)[offset : offset + n]

    def put(
        self, table: str, field_name: str, value: Any, n: int = 1
    ) -> tuple[str, Callable[[], None]]:
        """Set a hostile value on `n` records; (the first record's id, undo)."""
        ids = self.ids(table, n)
        records = self.records(table)
        old = {i: records[i].get(field_name) for i in ids}
        for i in ids:
            records[i][field_name] = value

        def undo() -> None:
            for i, v in old.items():
                records[i][field_name] = v

        return ids[0], undo

    def clear_outputs(self) -> Callable[[], None]:
        """Empty every output field (as before a first run), so the next run writes; undo."""
        outputs = self.outputs()
        saved: list[tuple[dict[str, Any], str, Any]] = []
        for table in ("accounts", "opportunities"):
            for rec in self.records(table).values():
                for name in outputs & set(rec):
                    saved.append((rec, name, rec[name]))
                    rec[name] = None

        def undo() -> None:
            for rec, name, value in saved:
                rec[name] = value

        return undo

    def outputs(self) -> set[str]:
        """CRM fields valuesync writes (outputs of both objects)."""
        if self.crm == "salesforce":
            return SF_OUTPUTS
        return {f for t in ("companies", "deals") for f in self.store().table(t).fields
                if f.startswith("valuesync_") and f != "valuesync_quadrant_override"}  # fmt: skip

    def snapshot(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (table, rid): copy.copy(rec)
            for table in OBJECTS[self.crm]
            for rid, rec in self.records(table).items()
        }

    # -- projects -----------------------------------------------------------------------
    def fresh(self, *, connection: dict[str, Any] | None = None,
              max_share: float | None = None) -> Path:  # fmt: skip
        """A copy of the base project with its own (empty) state DB, edited as asked."""
        self.cases += 1
        folder = self.root / f"case{self.cases}"
        shutil.copytree(self.base, folder, ignore=shutil.ignore_patterns(".valuesync"))
        if connection:
            path = folder / "valuesync.yaml"
            doc = yaml.safe_load(path.read_text())
            conn = next(iter(doc["connections"].values()))
            conn[self.crm].update(connection)
            path.write_text(yaml.safe_dump(doc, sort_keys=False))
        if max_share is not None:
            path = folder / "mappings" / f"{self.crm}.yaml"
            doc = yaml.safe_load(path.read_text())
            doc["quarantine"] = {"max_share": max_share}
            path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return folder

    def observe(self, method: str, path: str) -> None:
        if method in ("POST", "PATCH", "PUT") and any(w in path for w in WRITES):
            self.writes.append(path)


def bench_for(crm: str, root: Path, accounts: int = 40) -> Iterator[Bench]:
    """A started sandbox with `accounts` accounts, fields provisioned, and a base project."""
    servers: list[SandboxServer] = []

    def start(**kwargs: Any) -> SandboxServer:
        servers.append(SandboxServer(**kwargs).start())
        return servers[-1]

    try:
        project, server = make_project(root / "base", start, crm, accounts=accounts)
        done = vs("fields", "provision", cwd=project)
        assert done.returncode == 0, done.stderr
        bench = Bench(crm, server, project, root)
        server.faults.observers.append(bench.observe)
        yield bench
    finally:
        for s in servers:
            s.stop()


@dataclass(frozen=True)
class Case:
    """One hostile input: how to make it, what `valuesync run` must answer."""

    name: str
    make: Callable[[Bench], tuple[str, Callable[[], None]]]
    code: int
    says: tuple[str, ...]
    """Texts the output must contain; `{id}` stands for the hostile record's id."""
    connection: dict[str, Any] | None = None
    max_share: float | None = None
    full: bool = False

    def __str__(self) -> str:
        return self.name


def put(table: str, field: str, value: Any, n: int = 1) -> Callable[[Bench], Any]:
    """A case that puts `value` into `field` of `n` records of `table` (a CRM field name)."""
    return lambda b: b.put(table, field, value, n)


def fault(kind: str, path: str, times: int = 1, *, fresh_crm: bool = False
          ) -> Callable[[Bench], Any]:  # fmt: skip
    """A queued fault; `fresh_crm`: outputs emptied first, so the run has writes to make."""

    def make(b: Bench) -> tuple[str, Callable[[], None]]:
        undo = b.clear_outputs() if fresh_crm else (lambda: None)
        b.server.faults.inject(kind, times=times, path=path)  # type: ignore[arg-type]
        return "", undo

    return make


def run_case(bench: Bench, case: Case) -> tuple[Path, str, str]:
    """Make the hostile input, run, check what every case checks, undo; (project, id, text)."""
    project = bench.fresh(connection=case.connection, max_share=case.max_share)
    record_id, undo = case.make(bench)
    try:
        before, writes = bench.snapshot(), len(bench.writes)
        args = ["run", "--as-of", AS_OF] + (["--full"] if case.full else [])
        done = vs(*args, cwd=project)
        after = bench.snapshot()
    finally:
        undo()
        bench.server.faults.clear()
    text = " ".join((done.stdout + "\n" + done.stderr).split())
    assert done.returncode == case.code, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    for expected in case.says:
        wanted = " ".join(expected.format(id=record_id).split())
        assert wanted in text, f"{wanted!r} not in the output:\n{text[-3000:]}"
    if case.code in (2, 3):
        assert len(bench.writes) == writes, f"CRM writes after a stop: {bench.writes[writes:]}"
    assert_only_outputs_changed(bench, before, after)
    return project, record_id, text


def assert_only_outputs_changed(
    bench: Bench, before: dict[tuple[str, str], dict[str, Any]],
    after: dict[tuple[str, str], dict[str, Any]],
) -> None:  # fmt: skip
    """No field but valuesync's outputs changed; no output that held a value was cleared."""
    outputs = bench.outputs()
    assert set(before) == set(after)
    for key, old in before.items():
        new = after[key]
        for name in set(old) | set(new):
            if name in STAMPS:
                continue
            if name in outputs:
                if old.get(name) not in (None, ""):
                    assert new.get(name) not in (None, ""), f"{key} {name} was cleared"
            else:
                assert old.get(name) == new.get(name), f"{key} {name} changed"


def latest_run(project: Path) -> dict[str, Any]:
    """The project's newest run as the state DB holds it: id, status, the records it set
    aside (left_out) and the CRM's write results (results)."""
    from mappings.project import load_project
    from sync.pipeline.session import open_state

    loaded = load_project(project / "valuesync.yaml")
    state = open_state(loaded, None)
    try:
        run = state.runs(limit=1)[0]
        left_out = state.rejected(run["id"]).to_dict("records")
        results = state.write_results(run["id"]).to_dict("records")
    finally:
        state.close()
    return {**run, "left_out": left_out, "results": results}


def mirror_ids(project: Path, table: str) -> set[str]:
    """Record ids of a canonical table in the project's mirror."""
    from mappings.canonical import TABLES
    from mappings.project import load_project
    from sync.pipeline.session import open_state

    loaded = load_project(project / "valuesync.yaml")
    state = open_state(loaded, None)
    try:
        frame = state.mirror_frame(loaded.connection(None)[0], table)
    finally:
        state.close()
    return set(frame[TABLES[table].key].astype(str)) if len(frame) else set()


def check_named(project: Path, record_id: str, text: str, case: Case) -> None:
    """Exit 1 or 2: the run's output names the first record it left out or the CRM
    rejected, and the hostile record is among those set aside with field, code, reason."""
    if case.code not in (1, 2):
        return
    run = latest_run(project)
    named = [r["record_id"] for r in run["left_out"]]
    named += [r["record_id"] for r in run["results"] if not r["ok"]]
    assert named, "a run with exit 1 or 2 names the records it left out"
    assert named[0] in text, f"{named[0]} is not named in the run's output"
    if record_id:
        assert record_id in {r["record_id"] for r in run["left_out"]}
        assert all(r["field"] and r["code"] and r["message"] for r in run["left_out"])


def set_rates_kind(project: Path, kind: str) -> None:
    """finance.yaml's `rates.kind` set to `kind` (path dropped)."""
    path = project / "mappings" / "finance.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["rates"] = {"kind": kind}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
