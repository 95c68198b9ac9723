"""`check` and `fields provision`: every file validated, then the live CRM described.

`check` collects every ConfigProblem of every file of a connection (project, mapping,
finance mapping, value model), the problems between them, whether the state database
opens, the finance export as a run would read it (readable in its encoding, fresh enough,
no quarantined row, a rate for every currency), and with `live` the mapping against the
CRM's describe: what `check` passes, a run does not fail on. `provision` creates the
output fields the mapping names: picklists with exactly the model's labels, numbers,
currency, text 255, date-time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from connectors.base import FieldSpec, ProvisionResult
from mappings.crm import OUTPUT_COLUMNS, OUTPUT_LABELS
from mappings.errors import ConfigError, ConfigProblem, ConnectorError, DataError, StateError
from mappings.project import LoadedProject
from sync.pipeline.rates import check_rates
from sync.pipeline.setup import OUTPUT_TABLES, Setup, build_connector, load_setup

LABELS = OUTPUT_LABELS
"""Field label per engine output (mappings/crm.py); rule fields get their name in title case."""


def field_specs(setup: Setup, table: str) -> list[FieldSpec]:
    """The output fields of `table` (and its override field) as FieldSpecs."""
    labels = setup.labels()
    specs = []
    for column, name in setup.outputs(table).items():
        kind = OUTPUT_COLUMNS.get(column, "picklist")
        options = tuple(labels.get(column, ())) if kind == "picklist" else ()
        label = LABELS.get(column, column.replace("_", " ").title())
        specs.append(FieldSpec(name, label, kind, options, f"Written by valuesync ({column})"))  # type: ignore[arg-type]
    override = setup.override_field(table)
    if override:
        specs.append(
            FieldSpec(
                override,
                "Value Quadrant Override",
                "picklist",
                tuple(labels["quadrant"]),
                "Set by hand to force the value quadrant; valuesync reads it, never writes it",
            )  # fmt: skip
        )
    return specs


def provision(
    project: LoadedProject, connection: str | None, env: Mapping[str, str] | None
) -> dict[str, ProvisionResult]:
    """Create / extend the output fields on each output object; CRM object -> result."""
    setup = load_setup(project, connection)
    connector = build_connector(setup, env)
    results: dict[str, ProvisionResult] = {}
    for table in OUTPUT_TABLES:
        out = setup.mapping.outputs.get(table)  # type: ignore[call-overload]
        if out is None:
            continue
        results[out.object] = connector.provision(table, field_specs(setup, table))
    return results


def check(
    project: LoadedProject,
    connection: str | None,
    *,
    live: bool,
    env: Mapping[str, str] | None,
    as_of: date | None = None,
) -> list[ConfigProblem]:
    """Every problem of the connection's files (and with `live`, of the CRM); [] = all good."""
    state = state_problems(project, env)
    try:
        setup = load_setup(project, connection)
    except ConfigError as exc:
        return state + list(exc.problems)
    problems = state + finance_problems(setup, as_of)
    if not live:
        return problems
    try:
        connector = build_connector(setup, env)
        return problems + list(_live(setup, connector))
    except ConfigError as exc:
        return problems + list(exc.problems)
    except ConnectorError as exc:
        return problems + [ConfigProblem(f"connection '{setup.name}'", setup.crm, str(exc))]


def state_problems(project: LoadedProject, env: Mapping[str, str] | None) -> list[ConfigProblem]:
    """The state database opens and answers (nothing is created in it)."""
    from sync.pipeline.session import open_state

    try:
        state = open_state(project, env, migrate=False)
        try:
            state.schema_version()
        finally:
            state.close()
    except ConfigError as exc:
        return list(exc.problems)
    except StateError as exc:
        return [ConfigProblem(str(project.path), "state", str(exc))]
    return []


SHOWN_ROWS = 5


def finance_problems(setup: Setup, as_of: date | None) -> list[ConfigProblem]:
    """The finance export read and checked as a run as of `as_of` would; [] = it loads clean.

    rates.kind crm needs the CRM's rates, which only a run pulls: not read here."""
    from connectors.finance.loader import load_finance
    from sync.pipeline.session import default_as_of

    if setup.finance is None or setup.finance_path is None or setup.finance.rates.kind == "crm":
        return []
    where = str(setup.finance_path)
    try:
        loaded = load_finance(
            setup.finance, base_dir=setup.finance_path.parent, as_of=as_of or default_as_of()
        )
    except ConfigError as exc:
        return list(exc.problems)
    except DataError as exc:
        return [ConfigProblem(where, "", str(exc))]
    bad = loaded.quarantine
    if bad.empty:
        return []
    rows = bad.drop_duplicates(["file", "line"]).head(SHOWN_ROWS)
    problems = [
        ConfigProblem(str(r.file), str(r.column), f"row quarantined: {r.reason}", int(r.line))
        for r in rows.itertuples()
    ]
    total = int(bad["line"].nunique())
    problems.append(
        ConfigProblem(
            where,
            "quarantine",
            f"{total} finance row(s) would be quarantined (left out of the values written; "
            f"{len(rows)} shown); `valuesync run` lists them all and exits 1. Fix the rows "
            "in the export",
        )
    )
    return problems


def _live(setup: Setup, connector: Any) -> list[ConfigProblem]:
    problems = list(connector.check_mapping(setup.mapping, setup.mapping_path, setup.labels()))
    problems += check_rates(setup, connector)
    # not in the run's preflight: a run sets aside the records holding such a value
    return problems + list(connector.unmapped_values(setup.mapping, setup.mapping_path))
