"""README's ops-admin flow, verbatim, against `valuesync sandbox serve`: the lines the
sandbox prints (init with its URL, the exports, the sample export) are pasted into a shell
as they are, then README's commands run as written, in order: check, fields provision,
plan, run (the sandbox's sample ends last month, so their default as-of date scores it).
And every project command takes the same -p/--project and -c/--connection options."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
ENV["PATH"] = f"{BIN}{os.pathsep}{ENV.get('PATH', '')}"
for name in ("SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "HUBSPOT_ACCESS_TOKEN"):
    ENV.pop(name, None)  # only what the sandbox prints may be used


def _printed_setup(proc: subprocess.Popen[str]) -> list[str]:
    """The lines of the sandbox's "Point a project at this sandbox" block, as printed."""
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    block: list[str] = []
    while True:
        try:
            line = lines.get(timeout=120)
        except queue.Empty:
            pytest.fail(f"the sandbox printed no setup block; got {block}")
        if block or line.startswith("Point a project"):
            block.append(line.rstrip("\n"))
        if line.startswith("The sample data ends"):
            return block


@pytest.mark.slow  # five CLI processes and a sandbox process
def test_readme_flow_works_verbatim_against_sandbox_serve(tmp_path: Path) -> None:
    serve = subprocess.Popen(
        [str(BIN / "valuesync"), "sandbox", "serve", "--crm", "salesforce", "--port", "0",
         "--accounts", "40", "--data-dir", "sandbox-data"],
        cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        block = _printed_setup(serve)
        pasted = [line.strip() for line in block[1:-1]]
        readme = [
            "valuesync check",
            "valuesync fields provision",
            "valuesync plan",
            "valuesync run",
        ]
        script = "\n".join([*pasted, *(f"{c}; echo EXIT:$?" for c in readme)])
        done = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, env=ENV, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=30)
    assert "Traceback" not in done.stderr
    codes = [int(c) for c in re.findall(r"EXIT:(\d+)", done.stdout)]
    # check before the output fields exist says what to do (exit 1), the rest succeed
    assert codes == [1, 0, 0, 0], done.stdout + done.stderr
    assert "`valuesync fields provision` creates it" in " ".join(done.stdout.split())
    assert "nothing was written" in done.stdout
    assert re.search(r"run \d+ succeeded: [1-9][\d,]* records written", done.stdout)


PROJECT_COMMANDS = {
    # command: also takes -c/--connection (the others name a run or a job, or the project)
    "check": True,
    "fields provision": True,
    "plan": True,
    "run": True,
    "status": True,
    "runs list": True,
    "runs show": False,
    "rollback": False,
    "schedule add": True,
    "schedule list": False,
    "schedule remove": False,
    "scheduler start": False,
    "report": True,
}


@pytest.mark.parametrize("command", list(PROJECT_COMMANDS))
def test_every_project_command_takes_the_same_project_and_connection_options(
    command: str,
) -> None:
    import typer

    from sync.cli import app

    app._register()
    node = typer.main.get_command(app.app)
    for part in command.split():
        node = node.commands[part]  # type: ignore[attr-defined]
    opts = {o for p in node.params for o in getattr(p, "opts", [])}
    assert {"-p", "--project"} <= opts, f"{command}: {sorted(opts)}"
    if PROJECT_COMMANDS[command]:
        assert {"-c", "--connection"} <= opts, f"{command}: {sorted(opts)}"
