"""The mapping editor, driven by the CRM's live describe.

Per canonical table: the CRM object; per canonical column a dropdown of the object's
fields whose type can feed it (label and API name); for mapped picklists, the CRM's
values next to the canonical codes, unmapped ones highlighted; the output fields with
their provisioning state. Saving validates the edited file with the validators `check`
uses (the mapping model, the cross-file checks, the connector's check against the
describe) plus the column types offered here, shows the YAML diff, and writes it
(sync/ui/file_edit.py). Form fields are named by their key path in the file, so every
problem shows next to its field. The page itself shows the describe as the console
cached it (sync/ui/describe_cache.py), with its time and a link to reload it.
"""

from __future__ import annotations

import getpass
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.base import ObjectSchema
from connectors.fieldkinds import can_read
from mappings.canonical import TABLES, Column
from mappings.crm import CrmMapping, load_crm_mapping
from mappings.errors import ConfigError, ConfigProblem, ConnectorError
from sync.pipeline.checks import field_specs
from sync.pipeline.setup import Setup, build_connector, cross_check
from sync.state.audit import config_changes, forget_cursors, record_config_change
from sync.ui import file_edit
from sync.ui.security import state_changing
from sync.ui.templating import render, shown_path


def describe_all(setup: Setup, connector: Any) -> dict[str, ObjectSchema | None]:
    """Canonical table -> the live describe of its CRM object (None: not visible)."""
    schemas: dict[str, ObjectSchema | None] = {}
    for table, om in setup.mapping.objects.items():
        if om is None:
            continue
        try:
            schemas[table] = connector.describe(table)
        except (ConfigError, ConnectorError):
            schemas[table] = None
    return schemas


def editor_rows(setup: Setup, schemas: dict[str, ObjectSchema | None]) -> list[dict[str, Any]]:
    """What the editor shows per mapped table: columns with choices, picklists, values."""
    out = []
    for table, om in setup.mapping.objects.items():
        if om is None:
            continue
        schema = schemas.get(table)
        fields = sorted(schema.fields.values(), key=lambda f: f.label.lower()) if schema else []
        columns = []
        for col in TABLES[table].columns:
            current = om.fields.get(col.name, "")
            choices = [f for f in fields if can_read(setup.crm, col.kind, f.type)]
            info = schema.get(current) if schema and current else None
            columns.append(
                {
                    "name": col.name,
                    "kind": col.kind,
                    "current": current,
                    "choices": choices,
                    "known": info is not None or not current,
                    "required": col.required,
                }
            )
        picklists = []
        for column, mapped in om.fields.items():
            info = schema.get(mapped) if schema else None
            canonical = _column(table, column)
            allowed = canonical.choices if canonical is not None else ()
            if info is None or not info.picklist or (column not in om.values and not allowed):
                continue
            given = dict(om.values.get(column, {}))
            picklists.append(
                {
                    "column": column,
                    "field": mapped,
                    "allowed": allowed,
                    "values": [{"crm": v, "code": given.get(v, "")} for v in info.picklist],
                }
            )
        out.append(
            {
                "table": table,
                "object": om.object,
                "schema": schema is not None,
                "columns": columns,
                "picklists": picklists,
            }
        )
    return out


def output_rows(setup: Setup, schemas: dict[str, ObjectSchema | None]) -> list[dict[str, Any]]:
    """Each output field with its provisioning state in the CRM."""
    rows = []
    for table in ("accounts", "opportunities"):
        out = setup.mapping.outputs.get(table)  # type: ignore[call-overload,unused-ignore]
        if out is None:
            continue
        schema = schemas.get(table)
        for spec in field_specs(setup, table):
            info = schema.get(spec.name) if schema else None
            missing = [o for o in spec.options if info is not None and o not in info.picklist]
            state = "missing" if info is None else "lacks values" if missing else "provisioned"
            rows.append(
                {
                    "table": table,
                    "object": out.object,
                    "field": spec.name,
                    "kind": spec.kind,
                    "state": state,
                    "missing": missing,
                }
            )
    return rows


async def editor(request: Request) -> Response:
    """GET /mapping/{name}: the editor over the mapping file as it is now."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    return _page(request, console, name, problems=[], diff=None, saved=None)


def _page(
    request: Request,
    console: Any,
    name: str,
    *,
    problems: list[ConfigProblem],
    diff: str | None,
    saved: str | None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    setup = console.setup(name)
    text = setup.mapping_path.read_text(encoding="utf-8")
    connector = build_connector(setup, console.env)
    objects = {t: om.object for t, om in setup.mapping.objects.items() if om is not None}
    for table, out in setup.mapping.outputs.items():
        objects.setdefault(table, out.object)
    fresh = request.query_params.get("reload") == "1"
    described: str | None = None
    try:
        schemas, taken = console.describes.schemas(name, objects, connector, fresh=fresh)
        tables, outputs, offline = editor_rows(setup, schemas), output_rows(setup, schemas), None
        described = datetime.fromtimestamp(taken, UTC).strftime("%H:%M:%S UTC")
    except ConnectorError as exc:
        tables, outputs, offline = editor_rows(setup, {}), [], str(exc)
    by_key: dict[str, list[str]] = {}
    general = []
    for p in problems:
        if p.key_path:
            by_key.setdefault(p.key_path, []).append(p.message)
        else:
            general.append(p.message)
    return render(
        request,
        "mapping.html",
        changes=config_changes(console.state(), name, 5),
        status=status,
        name=name,
        tables=tables,
        outputs=outputs,
        offline=offline,
        described=described,
        file=shown_path(setup.mapping_path, console.project_path),
        base_digest=(form or {}).get("base_digest") or file_edit.digest(text),
        errors=by_key,
        general=general,
        diff=diff,
        saved=saved,
        form=form or {},
        crm=setup.crm,
    )


def apply_form(text: str, form: dict[str, str], setup: Setup) -> str:
    """The file's text with the form's field and value choices applied (round-trip)."""
    tree = file_edit.load_tree(text)
    for key, value in form.items():
        parts = key.split(".", 4)
        if parts[0] != "objects" or len(parts) < 4:
            continue
        table = parts[1]
        if parts[2] == "fields" and len(parts) == 4:
            file_edit.set_path(tree, ["objects", table, "fields", parts[3]], value.strip() or None)
        elif parts[2] == "values" and len(parts) == 5:
            path = ["objects", table, "values", parts[3], parts[4]]
            file_edit.set_path(tree, path, value.strip() or None)
    return file_edit.dump_tree(tree)


def type_problems(
    setup: Setup, mapping: CrmMapping, schemas: dict[str, Any], file: str
) -> list[ConfigProblem]:
    """A mapped field whose type cannot feed its canonical column (e.g. text into a number)."""
    problems = []
    for table, om in mapping.objects.items():
        schema = schemas.get(table)
        if om is None or schema is None or table not in TABLES:
            continue
        for column, field in om.fields.items():
            info = schema.get(field)
            col = _column(table, column)
            if (
                info is not None
                and col is not None
                and not can_read(setup.crm, col.kind, info.type)
            ):
                problems.append(
                    ConfigProblem(
                        file,
                        f"objects.{table}.fields.{column}",
                        f"'{field}' is a {info.type} field; {column} needs a {col.kind} value: "
                        "pick a field of that type",
                    )
                )
    return problems


def code_problems(mapping: CrmMapping, file: str) -> list[ConfigProblem]:
    """A picklist value mapped to a code its canonical column does not allow."""
    problems = []
    for table, om in mapping.objects.items():
        for column, values in (om.values if om is not None else {}).items():
            col = _column(table, column)
            allowed = col.choices if col is not None else ()
            for crm_value, code in values.items():
                if allowed and code not in allowed:
                    problems.append(
                        ConfigProblem(
                            file,
                            f"objects.{table}.values.{column}.{crm_value}",
                            f"'{code}' is not a {column} code; use one of {', '.join(allowed)}",
                        )
                    )
    return problems


def validate(console: Any, setup: Setup, text: str) -> list[ConfigProblem]:
    """Every problem of the edited mapping, by the validators `check` uses, with the file's
    real name; [] when it may be saved."""
    real = setup.mapping_path
    tmp = file_edit.candidate(real, text)
    try:
        try:
            mapping = load_crm_mapping(tmp)
        except ConfigError as exc:
            return file_edit.renamed(exc.problems, tmp, real)
        edited = replace(setup, mapping=mapping, mapping_path=tmp)
        problems = list(cross_check(edited))
        connector = build_connector(edited, console.env)
        problems += connector.check_mapping(mapping, tmp, edited.labels())
        problems += type_problems(setup, mapping, describe_all(edited, connector), str(tmp))
        problems += code_problems(mapping, str(tmp))
        # Output fields not yet created are what the Provision button is for, not a reason
        # to refuse a saved input mapping.
        problems = [p for p in problems if "fields provision" not in p.message]
        return file_edit.renamed(problems, tmp, real)
    finally:
        tmp.unlink(missing_ok=True)


@state_changing
async def save(request: Request) -> Response:
    """POST /mapping/{name}: mode=preview shows the diff; mode=save writes it."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    form = {k: str(v) for k, v in (await request.form()).items()}
    setup = console.setup(name)
    path = setup.mapping_path
    problem = file_edit.stale(path, form.get("base_digest", ""))
    if problem is not None:
        return _page(
            request, console, name, problems=[problem], diff=None, saved=None, status=409, form=form
        )
    old = path.read_text(encoding="utf-8")
    new = apply_form(old, form, setup)
    diff = file_edit.unified_diff(old, new, path.name)
    if not diff:
        return _page(request, console, name, problems=[], diff="", saved=None, form=form)
    problems = validate(console, setup, new)
    if problems:
        return _page(
            request, console, name, problems=problems, diff=diff, saved=None, status=422, form=form
        )
    if form.get("mode") != "save":
        return _page(request, console, name, problems=[], diff=diff, saved=None, form=form)
    previous = file_edit.write_atomically(path, new)
    who = f"{getpass.getuser()} (console, from {request.client.host if request.client else '?'})"
    record_config_change(console.state(), who, name, str(path), diff)
    reread = remapped(setup.mapping, load_crm_mapping(path))
    forget_cursors(console.state(), name, reread)
    note = f"; the next plan or run reads {', '.join(reread)} in full" if reread else ""
    return _page(
        request,
        console,
        name,
        problems=[],
        diff=diff,
        saved=f"saved {path.name}; the previous version is {previous.name}{note}",
    )


def remapped(old: CrmMapping, new: CrmMapping) -> list[str]:
    """Tables whose object, fields or value maps changed: the mirror must be read again."""
    tables = sorted(set(old.objects) | set(new.objects))
    return [t for t in tables if old.objects.get(t) != new.objects.get(t)]


def _column(table: str, name: str) -> Column | None:
    found = [c for c in TABLES[table].columns if c.name == name] if table in TABLES else []
    return found[0] if found else None


def routes() -> list[Route]:
    return [Route("/mapping/{name}", editor), Route("/mapping/{name}", save, methods=["POST"])]
