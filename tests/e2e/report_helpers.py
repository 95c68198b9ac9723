"""Helpers of the report end-to-end tests: the CLI in a subprocess, headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from connectors.sandbox.sampledata import generate, write_files

# `valuesync report` through sync.cli.app.main (its error handling and exit codes); registers the
# command first where sync/cli/app.py does not (yet) do so itself.
RUNNER = """
import sys
from sync.cli import app as cli
from sync.cli import report
register = cli._register
def _register():
    register()
    if not any(c.name == "report" for c in cli.app.registered_commands):
        cli.app.command("report")(report.report)
cli._register = _register
sys.argv[0] = "valuesync"
cli.main()
"""
CHROMIUM = shutil.which("chromium")
SKIP_REASON = "chromium not installed: apt-get install chromium"
AS_OF = "2026-07-01"


def valuesync(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `valuesync ARGS` in `cwd`; stderr with Rich's line wrapping undone."""
    env = {"COLUMNS": "200", "PATH": str(Path(sys.executable).parent), "HOME": str(cwd)}
    if os.environ.get("PYTHONPATH"):  # a worktree first on the path: test its code
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=180,
    )
    done.stderr = " ".join(done.stderr.split())
    return done


def sample_input(folder: Path, accounts: int = 300, seed: int = 7) -> Path:
    """The sandbox sample files (as `valuesync demo` writes them) in `folder`."""
    write_files(generate(accounts, seed=seed), folder)
    return folder


@dataclass(frozen=True)
class Rendered:
    """What Chromium made of a page: the DOM after scripts ran, a screenshot, page requests."""

    dom: str
    screenshot: Path
    page_requests: list[str]

    def svg_texts(self) -> list[str]:
        """The text of every SVG <text> element (tags inside it removed)."""
        texts = re.findall(r"<text\b[^>]*>(.*?)</text>", self.dom, flags=re.S)
        return [re.sub(r"<[^>]+>", "", t) for t in texts]


def render(page: Path, work: Path) -> Rendered:
    """Open `page` in headless Chromium with every network route blocked."""
    assert CHROMIUM is not None
    shot, netlog = work / "screenshot.png", work / "netlog.json"
    base = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={work / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--window-size=1400,1000",
        "--virtual-time-budget=10000",
    ]
    url = page.resolve().as_uri()
    dom = subprocess.run(
        [*base, f"--log-net-log={netlog}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    subprocess.run(
        [*base, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True
    )
    return Rendered(dom, shot, page_requests(netlog))


def page_requests(netlog: Path) -> list[str]:
    """URLs the page itself asked for over the network (the browser's own requests, with no
    file:// network isolation key, are not the page's)."""
    events = json.loads(netlog.read_text(encoding="utf-8"))["events"]
    found = []
    for event in events:
        params = event.get("params") or {}
        url, key = params.get("url", ""), params.get("network_isolation_key", "")
        if "file://" in key and not url.startswith(("file:", "data:", "blob:")):
            found.append(url)
    return sorted(set(found))
