"""`valuesync ui` from the command line: registered, light to import, refuses an open
address without a token, and serves the console on loopback until stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.integration.pipeline.conftest import write_project

VALUESYNC = str(Path(sys.executable).parent / "valuesync")
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_help_lists_ui_without_importing_the_web_stack() -> None:
    code = (
        "import sys; from sync.cli import app; app._register();"
        "print(sorted(m for m in ('sync.ui.app', 'jinja2', 'ruamel.yaml')"
        " if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert done.stdout.strip() == "[]", done.stderr
    shown = subprocess.run([VALUESYNC, "--help"], capture_output=True, text=True, env=ENV)
    assert " ui " in shown.stdout
    usage = subprocess.run([VALUESYNC, "ui", "--help"], capture_output=True, text=True, env=ENV)
    assert "--token-env NAME" in usage.stdout and "$ valuesync ui" in usage.stdout


def test_an_open_address_without_a_token_is_refused(tmp_path: Path) -> None:
    write_project(tmp_path, "hubspot", "http://127.0.0.1:9", finance=False)
    done = subprocess.run(
        [VALUESYNC, "ui", "--host", "0.0.0.0"],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    err = " ".join(done.stderr.split())
    assert "0.0.0.0 is reachable from other machines" in err and "--token-env" in err
    assert "Traceback" not in done.stderr


def test_serves_the_console_on_loopback(tmp_path: Path) -> None:
    write_project(tmp_path, "hubspot", "http://127.0.0.1:9", finance=False)
    port = _free_port()
    proc = subprocess.Popen(
        [VALUESYNC, "ui", "--port", str(port)],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, body = time.monotonic() + 90, ""
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/connections") as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.2)
        assert "<h1>Connections</h1>" in body and "no runs yet" in body
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert f"http://localhost:{port}/" in out
    assert "Traceback" not in err
