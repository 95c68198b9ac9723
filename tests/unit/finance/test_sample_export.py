"""The shipped finance.yaml reads the sandbox sample export; matching finds what was planted."""

from __future__ import annotations

from pathlib import Path

from connectors.finance.loader import load_finance, match_accounts
from connectors.sandbox.sampledata import generate, write_files
from mappings.finance import load_finance_mapping


def test_sample_export_loads_and_matches_the_ground_truth(tmp_path: Path):
    data = generate(300, seed=11)
    write_files(data, tmp_path)
    loaded = load_finance(load_finance_mapping(), base_dir=tmp_path, as_of=data.as_of)
    assert loaded.quarantine.empty
    assert len(loaded.frame) == len(data.finance)
    result = match_accounts(loaded.frame, data.accounts)
    truth = data.truth
    assert sorted(result.unmatched_finance["erp_customer_id"]) == sorted(truth.unmatched_erp_ids)
    assert sorted(result.accounts_without_finance["account_id"]) == sorted(
        truth.accounts_without_finance
    )
    assert result.by_method["domain"] == len(truth.match_by_domain)
    assert result.by_method["name"] == len(truth.match_by_name)
