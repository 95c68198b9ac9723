"""The model editor: weights, criteria, thresholds, preset and rules as an ordered table,
with a live preview on the last run's stored features before anything is saved.

The preview (POST /model/{name}/preview, on every change of the form) scores the stored
features with the edited model; saving (POST /model/{name}) validates with the model
file's own loader and the cross-file checks `check` runs, shows the diff, and writes
(sync/ui/file_edit.py), recording who/when/diff.
"""

from __future__ import annotations

import functools
import getpass
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mappings.errors import ConfigError, ConfigProblem
from sync.pipeline.model_file import load_value_model
from sync.pipeline.setup import Setup, cross_check
from sync.state.audit import config_changes, record_config_change
from sync.ui import file_edit
from sync.ui.model_edit import apply_model_form, preview
from sync.ui.security import state_changing
from sync.ui.templating import render, shown_path
from value_engine.catalog import FEATURES
from value_engine.model import PRESETS, ValueModel


@functools.lru_cache(maxsize=8)
def rule_rows(text: str) -> list[dict[str, Any]]:
    """Each rule set with its rules in order, the conditions as editable YAML."""
    tree = file_edit.load_tree(text) or {}
    out = []
    for i, ruleset in enumerate(tree.get("rules") or []):
        rules = [
            {
                "when": file_edit.dump_tree(r.get("when")).strip(),
                "then": r.get("then"),
                "then_column": r.get("then_column"),
            }
            for r in ruleset.get("rules") or []
        ]
        out.append(
            {
                "i": i,
                "field": ruleset.get("field"),
                "target": ruleset.get("target"),
                "labels": list(ruleset.get("labels") or []),
                "rules": rules,
                "default": ruleset.get("default"),
            }
        )
    return out


def check_model(setup: Setup, text: str) -> tuple[ValueModel | None, list[ConfigProblem]]:
    """The edited model and its problems, by the model file loader and the cross-file check."""
    real = setup.model_path
    tmp = file_edit.candidate(real, text)
    try:
        try:
            model = load_value_model(tmp)
        except ConfigError as exc:
            return None, file_edit.renamed(exc.problems, tmp, real)
        problems = cross_check(replace(setup, model=model))
        return model, file_edit.renamed(problems, tmp, real)
    finally:
        tmp.unlink(missing_ok=True)


def _shown_keys(model: ValueModel, rules: list[dict[str, Any]]) -> set[str]:
    """The form fields the page shows (a problem of any other key is shown at the top)."""
    keys = {"quadrants.preset", "quadrants.method", "clv.horizon_months"}
    keys |= {f"quadrants.{k}" for k in ("value_threshold", "fit_threshold", "hysteresis")}
    for axis in ("value", "fit"):
        count = len(getattr(model, axis).criteria)
        keys |= {f"{axis}.criteria.{i}.weight" for i in range(count + 1)}
        keys.add(f"{axis}.criteria.{count}.feature")
    for rs in rules:
        base = f"rules.{rs['i']}"
        keys.add(f"{base}.default")
        for j in range(len(rs["rules"]) + 1):
            keys |= {f"{base}.rules.{j}.when", f"{base}.rules.{j}.then"}
    return keys


def _errors(
    problems: list[ConfigProblem], shown: set[str]
) -> tuple[dict[str, list[str]], list[str]]:
    by_key: dict[str, list[str]] = {}
    general = []
    for p in problems:
        key = _field_of(p.key_path)
        if key in shown:
            by_key.setdefault(key, []).append(p.message)
        else:
            general.append(str(p))
    return by_key, general


def _field_of(key_path: str) -> str:
    """The form field a problem belongs to: `rules.0.rules.1.when.all.0.op` -> `...1.when`."""
    parts = key_path.split(".")
    if parts[:1] == ["rules"] and len(parts) >= 4 and parts[2] == "rules":
        tail = parts[4] if len(parts) > 4 else "when"
        return ".".join(parts[:4] + ["then" if tail in ("then", "then_column") else "when"])
    if parts[:1] in (["value"], ["fit"]) and len(parts) >= 3:
        return ".".join(parts[:3] + ["weight"])
    return key_path


async def editor(request: Request) -> Response:
    """GET /model/{name}: the editor over the model file as it is now."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    return _page(request, console, name, [], None, None)


def _page(
    request: Request,
    console: Any,
    name: str,
    problems: list[ConfigProblem],
    diff: str | None,
    saved: str | None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    setup = console.setup(name)
    text = setup.model_path.read_text(encoding="utf-8")
    rules = rule_rows(text)
    errors, general = _errors(problems, _shown_keys(setup.model, rules))
    snap = console.page_snapshot(name)  # while it is read, the preview waits for it
    return render(
        request,
        "model.html",
        changes=config_changes(console.state(), name, 5),
        status=status,
        name=name,
        model=setup.model,
        file=shown_path(setup.model_path, console.project_path),
        rules=rules,
        features=[f for f in FEATURES if f.numeric],
        presets=list(PRESETS),
        base_digest=(form or {}).get("base_digest") or file_edit.digest(text),
        errors=errors,
        general=general,
        diff=diff,
        saved=saved,
        form=form or {},
        snap=snap,
        preview=None,
    )


@state_changing
async def live_preview(request: Request) -> Response:
    """POST /model/{name}/preview: the edited model on the last run's features (no save)."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    form = {k: str(v) for k, v in (await request.form()).items()}
    setup = console.setup(name)
    original = setup.model_path.read_text(encoding="utf-8")
    text, problems = apply_model_form(original, form, setup.model)
    model, more = check_model(setup, text) if not problems else (None, [])
    problems += more
    snap = console.snapshot(name)
    result = preview(snap, model) if snap is not None and model is not None else None
    errors, general = _errors(problems, _shown_keys(setup.model, rule_rows(original)))
    return render(
        request,
        "model_preview.html",
        name=name,
        preview=result,
        errors=errors,
        general=general,
        snap=snap,
        slots=_slots(setup, form),
    )


def _slots(setup: Setup, form: dict[str, str]) -> list[str]:
    """Every field's error slot (cleared by the preview unless it has a problem)."""
    return sorted(k for k in form if k not in ("csrf_token", "base_digest", "mode"))


@state_changing
async def save(request: Request) -> Response:
    """POST /model/{name}: mode=preview shows the diff; mode=save writes it."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    form = {k: str(v) for k, v in (await request.form()).items()}
    setup = console.setup(name)
    path = setup.model_path
    problem = file_edit.stale(path, form.get("base_digest", ""))
    if problem is not None:
        return _page(request, console, name, [problem], None, None, status=409, form=form)
    old = path.read_text(encoding="utf-8")
    new, problems = apply_model_form(old, form, setup.model)
    if not problems:
        problems = check_model(setup, new)[1]
    diff = file_edit.unified_diff(old, new, path.name)
    if problems:
        return _page(request, console, name, problems, diff, None, status=422, form=form)
    if not diff or form.get("mode") != "save":
        return _page(request, console, name, [], diff, None, form=form)
    previous = file_edit.write_atomically(path, new)
    who = f"{getpass.getuser()} (console, from {request.client.host if request.client else '?'})"
    record_config_change(console.state(), who, name, str(path), diff)
    return _page(
        request,
        console,
        name,
        [],
        diff,
        f"saved {path.name}; the previous version is {previous.name}",
    )


def routes() -> list[Route]:
    return [
        Route("/model/{name}", editor),
        Route("/model/{name}", save, methods=["POST"]),
        Route("/model/{name}/preview", live_preview, methods=["POST"]),
    ]
