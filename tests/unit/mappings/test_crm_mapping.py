"""The CRM mapping files: the shipped ones load; broken ones fail with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.crm import load_crm_mapping, shipped_mapping
from mappings.errors import ConfigError


@pytest.mark.parametrize("system", ["salesforce", "hubspot"])
def test_shipped_mappings_load(system):
    m = load_crm_mapping(shipped_mapping(system))
    assert m.system == system
    assert m.table("accounts").fields["account_id"]
    assert "quadrant" in m.outputs["accounts"].fields
    assert "deal_priority" in m.outputs["opportunities"].fields


BROKEN = {
    "typo-in-key": (
        "system: salesforce\nobjects:\n  accounts:\n    object: Account\n    feilds: {}\n"
        "outputs: {}\n",
        ["objects.accounts.feilds", ":5", "allowed: cursor, fields, object, values"],
    ),
    "unknown-table": (
        "system: hubspot\nobjects:\n  contacts: null\n  accounts:\n    object: companies\n"
        "    fields: {account_id: hs_object_id}\noutputs: {}\n",
        ["'contacts' is not a CRM table", "allowed: accounts, opportunities, tickets, invoices"],
    ),
    "unknown-column-and-system": (
        "system: pipedrive\nobjects:\n  accounts:\n    object: Account\n"
        "    fields: {account_id: Id, revenue: AnnualRevenue}\noutputs: {}\n",
        ["2 problems", "system", "unknown canonical column(s) revenue"],
    ),
    "key-not-mapped": (
        "system: salesforce\nobjects:\n  accounts:\n    object: Account\n    fields: {name: Name}\n"
        "outputs: {}\n",
        ["the key column 'account_id' must be mapped"],
    ),
    "bad-yaml": ("system: [salesforce\n", ["not valid YAML", ":2"]),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_mapping_names_file_key_and_fix(tmp_path: Path, name: str):
    text, expected = BROKEN[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_crm_mapping(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message, message


def test_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_crm_mapping(tmp_path / "nope.yaml")
