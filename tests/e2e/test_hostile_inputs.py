"""Malformed and hostile input, end to end through the `valuesync` CLI against the sandbox.

Each file under tests/data/hostile/<area>/ is one case; tests/data/hostile/cases.yaml says
what `valuesync check` and `valuesync run` must do with it: the exit code (README's table),
and the fragments the message must hold (file, line or key, and the fix). Every case also
asserts: no traceback, no CRM write after a failed validation (the sandbox counts write
requests), no field other than valuesync's outputs changed, no output value cleared.

Areas and where the case file goes in a project made by `valuesync init`:

| area | the case file |
|---|---|
| finance | rows appended to the sample export `mappings/finance.csv` (its header skipped) |
| finance_export | replaces `mappings/finance.csv` |
| finance_mapping | replaces `mappings/finance.yaml` |
| mapping | replaces `mappings/salesforce.yaml` |
| project | replaces `valuesync.yaml` (`{url}` is the sandbox's URL) |
| value_model | replaces `mappings/value_model.yaml` |

One sandbox and one provisioned, synced project serve the whole module; each case runs on
a copy of that project (its state database included), so a run is an incremental one. The
CLI runs in this process (`sync.cli.app.main` with argv), which keeps ~200 invocations to a
few minutes; tests/e2e/test_cli_flow.py covers the installed script in a subprocess.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_cli_support import AS_OF, RATES, SECRETS

from connectors.sandbox.load import build_sandbox
from connectors.sandbox.sampledata import write_files
from connectors.sandbox.server import SandboxServer

HOSTILE = Path(__file__).parents[1] / "data" / "hostile"
CASES: list[dict[str, Any]] = yaml.safe_load((HOSTILE / "cases.yaml").read_text("utf-8"))
TARGETS = {
    "finance": "mappings/finance.csv",
    "finance_export": "mappings/finance.csv",
    "finance_mapping": "mappings/finance.yaml",
    "mapping": "mappings/salesforce.yaml",
    "project": "valuesync.yaml",
    "value_model": "mappings/value_model.yaml",
}
OBJECTS = ("Account", "Opportunity", "Case")
STAMPS = frozenset({"SystemModstamp", "LastModifiedDate", "LastModifiedById"})
"""Fields the CRM itself sets on every write."""
FAILED = (2, 3, 4)
"""Exit codes of a run that stopped: nothing may have been written."""
WRITE_PATHS = re.compile(r"/composite/sobjects|/jobs/ingest|/sobjects/\w+/\w{15,18}$")


@dataclass
class Done:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout and stderr with line breaks and table padding folded into single spaces."""
        return " ".join(f"{self.out}\n{self.err}".replace("│", " ").split())


@dataclass
class Base:
    server: SandboxServer
    project: Path
    finance_lines: int
    outputs: frozenset[str]
    writes: list[tuple[str, str]] = field(default_factory=list)


def cli(*args: str, cwd: Path) -> Done:
    """`valuesync ARGS` in `cwd`, in this process: exit code, stdout, stderr."""
    from sync.cli import app, render
    from sync.cli import consoles as cli_consoles

    consoles = (render.out, render.err, cli_consoles.stderr())
    widths = [c.width for c in consoles]
    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_argv = os.getcwd(), sys.argv
    os.chdir(cwd)
    sys.argv = ["valuesync", *args]
    code = 0
    try:
        for c in consoles:
            c.width = 250  # a wide terminal: fragments are matched on unwrapped text
        with redirect_stdout(out), redirect_stderr(err):
            try:
                app.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        os.chdir(old_cwd)
        sys.argv = old_argv
        for c, w in zip(consoles, widths, strict=True):
            c.width = w
    return Done(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Base]:
    """A sandbox, and a project made by `valuesync init`, provisioned and synced once."""
    mp = pytest.MonkeyPatch()
    for name, value in SECRETS.items():
        mp.setenv(name, value)
    mp.setenv("VALUESYNC_HOSTILE_WRONG_PASSWORD", "not-the-password")
    mp.delenv("VALUESYNC_HOSTILE_UNSET_PASSWORD", raising=False)
    mp.delenv("VALUESYNC_HOSTILE_STATE_URL", raising=False)
    sf_store, hs_store, data = build_sandbox(30, seed=11, crm="salesforce")
    server = SandboxServer(sf_store=sf_store, hs_store=hs_store).start()
    root = tmp_path_factory.mktemp("hostile")
    try:
        done = cli("init", "proj", "--crm", "salesforce", "--name", "acme-sa",
                   "--instance-url", server.url, cwd=root)  # fmt: skip
        assert done.code == 0, done.err
        project = root / "proj"
        write_files(data, project / "mappings")
        model_file = project / "mappings" / "value_model.yaml"
        model = yaml.safe_load(model_file.read_text("utf-8"))
        model_file.write_text(yaml.safe_dump({**model, "rates": RATES}, sort_keys=False))
        for args in (("fields", "provision"), ("run", "--as-of", AS_OF)):
            done = cli(*args, cwd=project)
            assert done.code == 0, done.out + done.err
        mapping = yaml.safe_load((project / TARGETS["mapping"]).read_text("utf-8"))
        outputs = {f for o in mapping["outputs"].values() for f in o["fields"].values()}
        lines = len((project / TARGETS["finance"]).read_text("utf-8").splitlines())
        site = Base(server, project, lines, frozenset(outputs))

        def observe(method: str, path: str) -> None:
            if method in ("POST", "PATCH", "PUT", "DELETE") and WRITE_PATHS.search(path):
                site.writes.append((method, path))

        server.faults.observers.append(observe)
        yield site
    finally:
        server.stop()
        mp.undo()


def snapshot(server: SandboxServer) -> dict[str, dict[str, dict[str, Any]]]:
    """Every record of the mapped objects, field by field, straight from the sandbox store."""
    store = server.sf.store
    return {
        obj: {rid: dict(rec) for rid, rec in store.table(obj).records.items()} for obj in OBJECTS
    }


def apply_case(case: dict[str, Any], base: Base, project: Path) -> None:
    """Put the case's file (and the files it comes `with`) where its area says."""
    area, _, name = case["case"].partition("/")
    source = HOSTILE / area / name
    target = project / TARGETS[area]
    if area == "finance":
        rows = source.read_text("utf-8").splitlines(keepends=True)[1:]
        with target.open("a", encoding="utf-8") as fh:
            fh.writelines(rows)
    elif area == "project":
        text = source.read_text("utf-8").replace("{url}", base.server.url)
        target.write_text(text, encoding="utf-8")
    else:
        shutil.copyfile(source, target)
    for extra in case.get("with", []):
        extra_area, _, extra_name = extra.partition("/")
        if extra_area == "finance":
            rows = (HOSTILE / extra).read_text("utf-8").splitlines(keepends=True)[1:]
            with (project / TARGETS["finance"]).open("a", encoding="utf-8") as fh:
                fh.writelines(rows)
        else:
            shutil.copyfile(HOSTILE / extra, project / "mappings" / extra_name)


def fragments(case: dict[str, Any], key: str, base: Base) -> list[str]:
    """The case's expected fragments, `{line1}` being the first appended export line."""
    lines = {"line1": str(base.finance_lines + 1)}
    return [str(s).format(**lines) for s in [*case.get("says", []), *case.get(key, [])]]


def names_place(text: str, case: dict[str, Any], base: Base) -> bool:
    """The case's `at: [file, line]` is in `text`: `file:line` (a message), `file line` (a
    table row) or `file` and `line N` (a list of bad lines)."""
    file, line = case["at"][0], str(case["at"][1]).format(line1=base.finance_lines + 1)
    if re.search(rf"{re.escape(file)}(:| ){line}\b", text):
        return True
    return file in text and f"line {line}" in text


@pytest.mark.slow  # ~100 cases, each a check and a run (a few minutes in all)
@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_hostile_input(case: dict[str, Any], base: Base, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    shutil.copytree(base.project, project)
    apply_case(case, base, project)
    before, writes = snapshot(base.server), len(base.writes)
    args = case.get("args", [])

    checked = cli("check", "--as-of", AS_OF, *args, cwd=project)
    checked_writes = len(base.writes) - writes
    ran = cli("run", "--as-of", AS_OF, *args, cwd=project)
    after = snapshot(base.server)

    for done in (checked, ran):
        assert "Traceback" not in done.out + done.err
        assert "bug in valuesync" not in done.err, done.err
    assert checked.code == case["check"], checked.text
    assert ran.code == case["run"], ran.text
    for part in fragments(case, "check_says", base):
        assert part in checked.text, f"check lacks {part!r}: {checked.text}"
    for part in fragments(case, "run_says", base):
        assert part in ran.text, f"run lacks {part!r}: {ran.text}"
    if "at" in case:
        assert names_place(checked.text, case, base), f"check: not at {case['at']}"
        assert names_place(ran.text, case, base), f"run: not at {case['at']}"
    assert checked_writes == 0, "check never writes"
    if case["run"] in FAILED:
        assert len(base.writes) == writes, base.writes[writes:]
    for obj, records in before.items():
        assert after[obj].keys() == records.keys(), f"{obj}: records appeared or vanished"
        for rid, old in records.items():
            new = after[obj][rid]
            for name, value in old.items():
                if name in STAMPS:
                    continue
                if name in base.outputs:  # may change with the run, never to empty
                    assert value in (None, "") or new.get(name) not in (None, ""), (obj, rid, name)
                else:
                    assert new.get(name) == value, f"{obj} {rid} {name} changed"
