"""`rates.kind: crm`: the finance data's exchange rates read from the CRM itself.

Salesforce keeps them in CurrencyType (and DatedConversionRate with advanced currency
management); the connector reads them (`CrmConnector.currency_rates`). A CRM without
rates (a single-currency org; HubSpot, whose currency settings valuesync does not read)
makes `rates.kind: crm` a configuration error that `check` reports before `run` meets it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mappings.errors import ConfigError, ConfigProblem
from sync.pipeline.setup import Setup


def wants_crm_rates(setup: Setup) -> bool:
    return setup.finance is not None and setup.finance.rates.kind == "crm"


def no_rates(setup: Setup) -> ConfigProblem:
    """The problem of `rates.kind: crm` against a CRM that has no rates."""
    return ConfigProblem(
        str(setup.finance_path or "finance.yaml"),
        "rates.kind",
        f"rates.kind is crm, but the {setup.crm} connection has no exchange rates valuesync "
        "can read (a single-currency org, or a CRM whose API offers none); use rates.kind: "
        "file with a CSV currency,corporate_per_unit[,date]",
    )


def crm_rates(setup: Setup, connector: Any) -> pd.DataFrame | None:
    """The CRM's rates as corporate units per unit of each currency; None unless rates.kind
    is crm."""
    if not wants_crm_rates(setup):
        return None
    rates = connector.currency_rates()
    if rates is None or rates.empty:
        raise ConfigError([no_rates(setup)])
    # The CRM's rate is units of the currency per corporate unit; finance rates are
    # corporate_per_unit (the project's one convention).
    return rates.assign(rate=1.0 / rates["rate"])


def check_rates(setup: Setup, connector: Any) -> list[ConfigProblem]:
    """`check`: the problem `run` would meet with rates.kind: crm, if any."""
    if not wants_crm_rates(setup):
        return []
    rates = connector.currency_rates()
    return [no_rates(setup)] if rates is None or rates.empty else []
