"""The model editor's logic: the form applied to the value model file (round-trip YAML),
and the preview of an edited model on the last run's stored features.

Form fields are named by their key path in the file (`fit.criteria.3.weight`,
`quadrants.value_threshold`, `rules.0.rules.1.when`), so a validation problem of the
engine's own model validators lands next to its field. A rule's `when` is edited as a
YAML flow mapping (`{field: quadrant, op: "==", value: Core}`) and its `position` reorders
the rules of its field. Each table ends with an empty row (the index after the last) that
adds a criterion or a rule when filled in, and each row has a "remove" box.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from ruamel.yaml.error import YAMLError

from mappings.errors import ConfigProblem
from sync.ui import file_edit
from sync.ui.context import Snapshot
from value_engine.accounts import score_accounts
from value_engine.breakdown import moves, quadrant_summary
from value_engine.model import ValueModel

SCALARS = (
    "quadrants.preset",
    "quadrants.method",
    "quadrants.value_threshold",
    "quadrants.fit_threshold",
    "quadrants.hysteresis",
    "clv.horizon_months",
)
MOVED_SHOWN = 50


def _number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text  # the model's validator says what is wrong with it, next to the field
    return int(value) if value.is_integer() and "." not in text else value


def _materialise(tree: Any, model: ValueModel) -> None:
    """Sections the file leaves to the defaults, written out so they can be edited."""
    dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    for key in ("value", "fit", "quadrants", "clv"):
        if key not in tree:
            tree[key] = dumped[key]
    if "rules" not in tree:
        tree["rules"] = dumped["rules"]


def apply_model_form(
    text: str, form: dict[str, str], model: ValueModel
) -> tuple[str, list[ConfigProblem]]:
    """The file's text with the form applied; problems of input that is not even YAML."""
    tree = file_edit.load_tree(text)
    _materialise(tree, model)
    problems: list[ConfigProblem] = []
    for key in SCALARS:
        if key in form and form[key].strip() != "":
            raw = form[key].strip()
            value = raw if key.endswith(("preset", "method")) else _number(raw)
            file_edit.set_path(tree, key.split("."), value)
    for axis in ("value", "fit"):
        _apply_criteria(tree[axis]["criteria"], axis, form)
    for i, ruleset in enumerate(tree.get("rules") or []):
        _apply_rules(ruleset, i, form, problems)
    return file_edit.dump_tree(tree), problems


def _apply_criteria(criteria: Any, axis: str, form: dict[str, str]) -> None:
    """Weights edited, criteria ticked for removal dropped, the new row (the form's row
    at index len(criteria)) appended when it names a feature."""
    count = len(criteria)
    for i, crit in enumerate(criteria):
        raw = form.get(f"{axis}.criteria.{i}.weight", "").strip()
        if raw:
            crit["weight"] = _number(raw)
    new = f"{axis}.criteria.{count}"
    feature = form.get(f"{new}.feature", "").strip()
    if feature:
        row: dict[str, Any] = {"feature": feature}
        row["weight"] = _number(form.get(f"{new}.weight", "").strip() or "1")
        direction = form.get(f"{new}.direction", "").strip()
        if direction:
            row["direction"] = direction
        criteria.append(row)
    for i in reversed(range(count)):
        if form.get(f"{axis}.criteria.{i}.remove"):
            del criteria[i]


def _apply_rules(ruleset: Any, i: int, form: dict[str, str], problems: list[ConfigProblem]) -> None:
    """Conditions, outcomes and default edited; the new row (index len(rules)) added when it
    has a condition and an outcome; rules ticked for removal dropped; then reordered."""
    default = form.get(f"rules.{i}.default")
    if default is not None and default.strip() and "default" in ruleset:
        ruleset["default"] = default.strip()
    if ruleset.get("rules") is None:
        ruleset["rules"] = []
    rules = list(ruleset["rules"])
    order = []
    for j, rule in enumerate(rules):
        key = f"rules.{i}.rules.{j}"
        when = _condition(form, f"{key}.when", problems)
        if when is not None and file_edit.dump_tree(when) != file_edit.dump_tree(rule.get("when")):
            rule["when"] = when
        then = form.get(f"{key}.then")
        if then is not None and then.strip() and "then" in rule:
            rule["then"] = then.strip()
        if not form.get(f"{key}.remove"):
            order.append((_position(form, key, j + 1), j))
    new = f"rules.{i}.rules.{len(rules)}"
    when = _condition(form, f"{new}.when", problems)
    then = form.get(f"{new}.then", "").strip()
    if when is not None and then:
        rules.append({"when": when, "then": then})
        # before the rule now at the position asked for; by default after the last
        order.append((_position(form, new, len(rules)) - 0.5, len(rules) - 1))
    ranked = [rules[j] for _, j in sorted(order)]
    if [id(r) for r in ranked] != [id(r) for r in ruleset["rules"]]:
        ruleset["rules"][:] = ranked


def _condition(form: dict[str, str], key: str, problems: list[ConfigProblem]) -> Any:
    """The YAML condition typed in form field `key` (None: empty or not YAML, said)."""
    text = form.get(key)
    if text is None or not text.strip():
        return None
    try:
        return file_edit.load_tree(text)
    except YAMLError as exc:
        problems.append(ConfigProblem("form", key, f"not a YAML condition: {exc}".splitlines()[0]))
        return None


def _position(form: dict[str, str], key: str, default: float) -> float:
    raw = form.get(f"{key}.position", "").strip()
    return float(raw) if raw.replace(".", "", 1).isdigit() else default


@dataclass(frozen=True)
class Preview:
    """What an edited model would do to the last run's accounts."""

    run_id: int
    accounts: int
    moved: int
    summary: pd.DataFrame
    """quadrant, accounts and share, revenue and value (CLV), now and with the edit."""
    matrix: pd.DataFrame
    moved_rows: list[dict[str, Any]]


def preview(snap: Snapshot, candidate: ValueModel) -> Preview | None:
    """The edited model scored on the stored features against the model as it is now (both
    without hysteresis, so an unchanged model moves nobody)."""
    if snap.features is None or snap.scored is None:
        return None
    base = snap.scored
    edited = score_accounts(snap.features, candidate)
    before = base.table["computed_quadrant"].astype(str).reset_index(drop=True)
    after = edited.table["computed_quadrant"].astype(str).reset_index(drop=True)
    labels = list(
        dict.fromkeys([*snap.model.quadrants.label_tuple(), *candidate.quadrants.label_tuple()])
    )
    revenue = base.work["revenue_12m"].reset_index(drop=True)
    now = quadrant_summary(before, revenue, base.table["clv"], labels)
    new = quadrant_summary(after, revenue, edited.table["clv"], labels)
    summary = now.merge(new, on="quadrant", suffixes=("_now", "_edit"))
    changed = (before != after).to_numpy()
    ids = base.table["account_id"].astype(str).to_numpy()[changed][:MOVED_SHOWN]
    names = snap.names.set_index("account_id")["name"]
    rows = [
        {
            "account_id": a,
            "name": names.get(a, a),
            "before": b,
            "after": c,
            "value_before": v0,
            "value_after": v1,
            "fit_before": f0,
            "fit_after": f1,
        }
        for a, b, c, v0, v1, f0, f1 in zip(
            ids,
            before[changed][:MOVED_SHOWN],
            after[changed][:MOVED_SHOWN],
            base.table["value_score"][changed][:MOVED_SHOWN],
            edited.table["value_score"][changed][:MOVED_SHOWN],
            base.table["fit_score"][changed][:MOVED_SHOWN],
            edited.table["fit_score"][changed][:MOVED_SHOWN],
            strict=True,
        )
    ]
    return Preview(
        snap.run_id, len(before), int(changed.sum()), summary, moves(before, after, labels), rows
    )
