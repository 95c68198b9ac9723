"""The files and the connector of one project connection, loaded for a run.

`load_setup(project, name)` reads the mapping, the value model and (optionally) the finance
mapping of a connection; `build_connector(setup, env)` makes the CRM connector with the
secrets from `env`. Paths in the finance mapping resolve against the finance mapping's folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import connectors.registry
from connectors.base import CrmConnector
from mappings.crm import OUTPUT_COLUMNS, CrmMapping, load_crm_mapping
from mappings.errors import ConfigError, ConfigProblem
from mappings.finance import FinanceMapping, load_finance_mapping
from mappings.project import Connection, LoadedProject
from sync.pipeline.model_file import load_value_model
from value_engine import ValueModel, output_labels

OVERRIDE_COLUMN = "quadrant_override"
"""Frame column of the mapping's manual-override field (both connectors use this name)."""
OUTPUT_TABLES = ("accounts", "opportunities")


@dataclass(frozen=True)
class Setup:
    """Everything a run of one connection reads from files."""

    name: str
    connection: Connection
    mapping: CrmMapping
    mapping_path: Path
    model: ValueModel
    model_path: Path
    finance: FinanceMapping | None
    finance_path: Path | None
    project_path: Path | None = None
    """The project file: where the connection block (and its secret names) is written."""

    @property
    def crm(self) -> str:
        return self.connection.crm

    def labels(self) -> dict[str, list[str]]:
        """Every label per picklist output (quadrant and each rule field)."""
        return output_labels(self.model)

    def outputs(self, table: str) -> dict[str, str]:
        """engine output column -> CRM field of `table` (empty when not written)."""
        out = self.mapping.outputs.get(table)  # type: ignore[call-overload]
        return dict(out.fields) if out is not None else {}

    def override_field(self, table: str) -> str | None:
        out = self.mapping.outputs.get(table)  # type: ignore[call-overload]
        return out.override_field if out is not None else None


def load_setup(project: LoadedProject, name: str | None) -> Setup:
    """The named (or only) connection's files, validated; all problems in one ConfigError."""
    conn_name, conn = project.connection(name)
    mapping_path = project.resolve(conn.mapping)
    model_path = project.resolve(conn.value_model)
    finance_path = project.resolve(conn.finance)
    assert mapping_path is not None and model_path is not None
    problems: list[ConfigProblem] = []
    loaded: dict[str, Any] = {}
    loaders: dict[str, tuple[Path | None, Any]] = {
        "mapping": (mapping_path, load_crm_mapping),
        "model": (model_path, load_value_model),
        "finance": (finance_path, load_finance_mapping),
    }
    for key, (path, loader) in loaders.items():
        if path is None:
            loaded[key] = None
            continue
        try:
            loaded[key] = loader(path)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    setup = Setup(
        conn_name, conn, loaded["mapping"], mapping_path, loaded["model"], model_path,
        loaded["finance"], finance_path, project.path,
    )  # fmt: skip
    problems = cross_check(setup)
    if problems:
        raise ConfigError(problems)
    return setup


def cross_check(setup: Setup) -> list[ConfigProblem]:
    """Problems between the files: the mapping's system and outputs against the model."""
    problems: list[ConfigProblem] = []
    where = str(setup.mapping_path)
    if setup.mapping.system != setup.crm:
        problems.append(
            ConfigProblem(
                where,
                "system",
                f"the mapping is for {setup.mapping.system} but connection '{setup.name}' "
                f"is {setup.crm}; point 'mapping' at a {setup.crm} mapping file",
            )  # fmt: skip
        )
    rule_fields = {r.field: r.target for r in setup.model.rules}
    for table, out in setup.mapping.outputs.items():
        for column in out.fields:
            if column in OUTPUT_COLUMNS:
                continue
            target = rule_fields.get(column)
            if target is None:
                known = sorted({*OUTPUT_COLUMNS, *rule_fields})
                problems.append(
                    ConfigProblem(
                        where,
                        f"outputs.{table}.fields.{column}",
                        f"'{column}' is neither an engine output nor a rule of the value model "
                        f"{setup.model_path.name}; use one of: {', '.join(known)}",
                    )  # fmt: skip
                )
            elif target != table and table == "accounts":
                problems.append(
                    ConfigProblem(
                        where,
                        f"outputs.{table}.fields.{column}",
                        f"the rule '{column}' targets {target}, so accounts have no value "
                        f"for it; move it under outputs.{target}",
                    )  # fmt: skip
                )
    return problems


def build_connector(setup: Setup, env: Mapping[str, str] | None) -> CrmConnector:
    """The CRM connector of the connection, its secrets read from `env` (default os.environ).

    A missing secret is named at its key in the project file (file, line, key path)."""
    try:
        return connectors.registry.build_connector(
            setup.connection, setup.mapping, mapping_path=setup.mapping_path, env=env
        )
    except ConfigError as exc:
        if setup.project_path is None:
            raise
        problems = [_in_project(setup, setup.project_path, p) for p in exc.problems]
        raise ConfigError(problems) from None


def _in_project(setup: Setup, project_path: Path, problem: ConfigProblem) -> ConfigProblem:
    if problem.file not in ("", "connection"):
        return problem
    from mappings.yamlfile import read_yaml

    key = ("connections", setup.name, setup.crm, *filter(None, problem.key_path.split(".")))
    try:
        line = read_yaml(project_path).line(key)
    except ConfigError:
        line = None
    return replace(problem, file=str(project_path), key_path=".".join(key), line=line)
