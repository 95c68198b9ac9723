"""What a user sees when asking for help or making a mistake: examples in every --help,
one clear paragraph (file, line, key, exit 2) for a broken project file, JSON errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

VALUESYNC = str(Path(sys.executable).parent / "valuesync")
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}

COMMANDS = [
    ("init",),
    ("check",),
    ("fields", "provision"),
    ("plan",),
    ("run",),
    ("status",),
    ("runs", "list"),
    ("runs", "show"),
    ("rollback",),
    ("schedule", "add"),
    ("schedule", "list"),
    ("schedule", "remove"),
    ("scheduler", "start"),
]
PROJECT_COMMANDS = [c for c in COMMANDS if c != ("init",)]


def vs(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VALUESYNC, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=60
    )


def test_top_level_help_documents_exit_codes(tmp_path: Path) -> None:
    done = vs("--help", cwd=tmp_path)
    text = " ".join(done.stdout.split())
    assert done.returncode == 0
    needles = (
        "0 ok",
        "1 a run finished with rejected records",
        "2 configuration",
        "3 CRM or network error",
        "4 the state database is locked",
        "Examples:",
    )
    assert [n for n in needles if n not in text] == []


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_help_shows_an_example(tmp_path: Path, command: tuple[str, ...]) -> None:
    done = vs(*command, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Examples:" in done.stdout and f"$ valuesync {' '.join(command)}" in done.stdout
    assert "--json" in done.stdout
    if command in PROJECT_COMMANDS:
        assert "--project" in done.stdout


BROKEN = {
    "unknown key": (
        "version: 1\nconnections:\n  acme:\n    crm: salesforce\n    salesforce: {kind: password}\n"
        "    mapping: m.yaml\n    value_model: v.yaml\n    shedule: '0 2 * * *'\n",
        ["valuesync.yaml:8", "connections.acme.shedule"],
    ),
    "wrong crm": (
        "version: 1\nconnections:\n  acme:\n    crm: pipedrive\n    mapping: m.yaml\n"
        "    value_model: v.yaml\n",
        ["valuesync.yaml:4", "connections.acme.crm", "salesforce"],
    ),
    "yaml syntax": (
        "version: 1\nconnections:\n  acme: [unclosed\n",
        ["valuesync.yaml"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_project_file_is_one_paragraph_with_exit_2(tmp_path: Path, case: str) -> None:
    text, needles = BROKEN[case]
    (tmp_path / "valuesync.yaml").write_text(text)
    done = vs("check", "--offline", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert "\n\n" not in done.stderr.strip()
    message = " ".join(done.stderr.split())
    for needle in needles:
        assert needle in message


def test_json_errors_are_one_document_on_stdout(tmp_path: Path) -> None:
    done = vs("status", "--json", cwd=tmp_path)  # no project file here
    assert done.returncode == 2
    doc = json.loads(done.stdout)
    assert doc["exit_code"] == 2 and doc["error"]["type"] == "ConfigError"
    assert "valuesync init" in doc["error"]["message"]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--cron", "61 2 * * *"), ["minute field '61'", "59"]),
        (("--cron", "0 2 * *"), ["has 4 fields", "'0 2 * * *'"]),
        (("--cron", "0 2 * * funday"), ["day of week field 'funday'"]),
        (("--cron", "0 2 * * *", "--every", "5"), ["either --cron EXPR or --every"]),
        ((), ["either --cron EXPR or --every"]),
    ],
    ids=["minute out of range", "four fields", "bad weekday", "cron and every", "neither"],
)
def test_bad_schedules_name_the_field(
    tmp_path: Path, args: tuple[str, ...], needles: list[str]
) -> None:
    done = vs("schedule", "add", *args, cwd=tmp_path)
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    for needle in needles:
        assert needle in message
    assert "Traceback" not in done.stderr


def test_schedule_for_unknown_connection_names_the_choices(tmp_path: Path) -> None:
    assert vs("init", ".", "--crm", "hubspot", "--name", "acme-hs", cwd=tmp_path).returncode == 0
    done = vs("schedule", "add", "--connection", "nope", "--cron", "0 2 * * *", cwd=tmp_path)
    assert done.returncode == 2
    assert "connection 'nope' is not defined; choose one of: acme-hs" in done.stderr
    removed = vs("schedule", "remove", "acme-hs-00000000", cwd=tmp_path)
    assert removed.returncode == 2 and "no scheduled job 'acme-hs-00000000'" in removed.stderr
