"""The Salesforce connector: simple-salesforce behind the CrmConnector protocol.

```python
conn = load_salesforce_connection(Path("salesforce-connection.yaml"))
sf = SalesforceConnector(conn, load_crm_mapping(Path("mappings/salesforce.yaml")))
sf.validate(required_labels={"quadrant": ["Core", ...]})        # describe-check, ConfigError
for page in sf.pull("accounts", fields=(), since=cursor): ...     # typed canonical frames
result = sf.push("Account", changes)                              # WriteResult, as data
sf.provision("Account", specs)                                    # Tooling API, idempotent
```

The pieces, in this package: transport (URL mapping, login, quota guard, call counting),
client (retry + session refresh + error translation), soql (injection-proof SOQL), schema
(describe and the mapping check), pull, bulk (Bulk API 2.0 jobs), push, frames, provision.
The connector keeps no run state: describes are cached per instance, which is one run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pandas as pd

from connectors.base import (
    Cursor,
    FieldSpec,
    ObjectSchema,
    Page,
    ProvisionResult,
    TaskResult,
    TaskSpec,
    WriteResult,
)
from connectors.finance.rates import rates_from_salesforce
from connectors.retry import DEFAULT_POLICY, RetryPolicy
from connectors.salesforce.client import SalesforceApi
from connectors.salesforce.provision import Provisioner, output_field_specs
from connectors.salesforce.pull import OVERRIDE_COLUMN, PullPlan, build_plan, pull_pages
from connectors.salesforce.push import CLEAR, PARENT_COLUMN, Pusher, to_records
from connectors.salesforce.schema import (
    mapping_problems,
    raise_problems,
    schema_from_describe,
    unmapped_values,
)
from connectors.salesforce.tasks import create_tasks, owner_emails
from mappings.crm import CrmMapping, load_crm_mapping, shipped_mapping
from mappings.errors import ConfigError, ConfigProblem, FatalApiError
from mappings.salesforce_connection import (
    SalesforceConnection,
    resolve_secrets,
)
from mappings.yamlfile import read_yaml

CURRENCY_TYPES = "SELECT IsoCode, ConversionRate FROM CurrencyType WHERE IsActive = true"
DATED_RATES = "SELECT IsoCode, ConversionRate, StartDate FROM DatedConversionRate"
__all__ = ["CLEAR", "OVERRIDE_COLUMN", "PARENT_COLUMN", "SalesforceConnector"]


class SalesforceConnector:
    """A CrmConnector for one Salesforce org and one mapping file."""

    system: ClassVar[str] = "salesforce"
    pull_streams: ClassVar[int] = 1
    """One object at a time: the transport keeps per-call state (the call-kind label, the
    server time that cursors are taken from) that concurrent pulls would mix up."""
    push_streams: ClassVar[int] = 1
    """One push at a time: a push's call count is the transport's counter before and after."""
    reads_outputs: ClassVar[bool] = True
    """A pull selects every mapped column, the output fields and the override field."""
    clear_value: ClassVar[str] = CLEAR
    WRITE_BATCH: ClassVar[int] = 200
    """Records per sObject Collections call."""
    BULK_JOB_CALLS: ClassVar[int] = 5
    """Calls of one Bulk 2.0 ingest job: create, upload, close, poll, results."""

    def __init__(
        self,
        connection: SalesforceConnection,
        mapping: CrmMapping | None = None,
        *,
        mapping_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.mapping_path = mapping_path or shipped_mapping("salesforce")
        self.mapping = mapping or load_crm_mapping(self.mapping_path)
        if self.mapping.system != "salesforce":
            raise ConfigError(
                f"{self.mapping_path}: system is {self.mapping.system}, not salesforce"
            )
        self.connection = connection
        self.policy = policy
        self.sleep = sleep
        secrets = resolve_secrets(connection, env)
        self.api = SalesforceApi(connection, secrets, policy=policy, sleep=sleep)
        self._schemas: dict[str, ObjectSchema] = {}

    # --- figures ----------------------------------------------------------------------
    @property
    def calls(self) -> dict[str, int]:
        """API calls made so far, by kind (query, count, collections, login, ...)."""
        return dict(self.api.transport.calls)

    def count_calls(self, calls: Mapping[str, int]) -> None:
        """Add calls made for this connector by another process (a pull worker); they count
        against the org's quota reserve like this process's own."""
        self.api.transport.calls.update(calls)

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, limit) of the org's daily API requests, from the last Sforce-Limit-Info."""
        t = self.api.transport
        return None if t.used is None or t.limit is None else (t.used, t.limit)

    def check_quota(self, needed: int = 0, what: str = "this run") -> None:
        """QuotaError if `needed` calls would take the org under the reserve (one /limits call)."""
        self.api.limits()
        self.api.transport.require(needed, what)

    # --- describe ---------------------------------------------------------------------
    def object_name(self, obj: str) -> str:
        """The CRM object of a canonical table ('accounts' -> 'Account'), or `obj` itself."""
        mapped = self.mapping.objects.get(obj)
        if mapped is not None:
            return mapped.object
        if obj in self.mapping.objects:
            raise ConfigError(f"{self.mapping_path}: objects.{obj} is not mapped (null)")
        return obj

    def describe(self, obj: str) -> ObjectSchema:
        """Describe of `obj` (a CRM object or canonical table), once per connector."""
        name = self.object_name(obj)
        if name not in self._schemas:
            desc = self.api.call(f"describe {name}", lambda sf: getattr(sf, name).describe())
            self._schemas[name] = schema_from_describe(desc)
        return self._schemas[name]

    def _try_describe(self, name: str) -> ObjectSchema | None:
        try:
            return self.describe(name)
        except FatalApiError as exc:
            if exc.status == 404 or exc.code in ("NOT_FOUND", "INVALID_TYPE"):
                return None
            raise

    # --- check ------------------------------------------------------------------------
    def check_mapping(
        self,
        mapping: CrmMapping | None = None,
        mapping_path: Path | str | None = None,
        required_labels: Mapping[str, Sequence[str]] | None = None,
    ) -> list[ConfigProblem]:
        """Describe every mapped object and list every problem of the mapping (no raise)."""
        mapping = mapping or self.mapping
        path = Path(mapping_path or self.mapping_path)
        names = {m.object for m in mapping.objects.values() if m is not None}
        names |= {o.object for o in mapping.outputs.values()}
        self._schemas.clear()  # a check always sees the org as it is now
        schemas = {n: self._try_describe(n) for n in sorted(names)}
        try:
            lines = read_yaml(path)
        except ConfigError:
            lines = None
        return mapping_problems(mapping, path, schemas, required_labels, lines)

    def unmapped_values(self, mapping: CrmMapping, mapping_path: Path | str) -> list[ConfigProblem]:
        """Picklist values of describe that the mapping's value maps leave unmapped."""
        names = {m.object for m in mapping.objects.values() if m is not None}
        schemas = {n: self._try_describe(n) for n in sorted(names)}
        try:
            lines = read_yaml(Path(mapping_path))
        except ConfigError:
            lines = None
        return unmapped_values(mapping, mapping_path, schemas, lines)

    def validate(self, required_labels: Mapping[str, Sequence[str]] | None = None) -> None:
        """`check_mapping` that raises one ConfigError listing every problem."""
        raise_problems(self.check_mapping(required_labels=required_labels))

    # --- currency rates ---------------------------------------------------------------
    def currency_rates(self) -> pd.DataFrame | None:
        """The org's exchange rates (currency, rate, date): CurrencyType, plus the dated
        rates of advanced currency management; None in a single-currency org (no
        CurrencyType). ConversionRate is units of the currency per corporate unit."""
        if self._try_describe("CurrencyType") is None:
            return None
        types = self._records("CurrencyType", CURRENCY_TYPES)
        if types.empty:
            return None
        dated = None
        if self._try_describe("DatedConversionRate") is not None:
            dated = self._records("DatedConversionRate", DATED_RATES)
        return rates_from_salesforce(types, dated if dated is not None and len(dated) else None)

    def _records(self, obj: str, soql_text: str) -> pd.DataFrame:
        answer = self.api.call(f"query {obj}", lambda sf: sf.query_all(soql_text))
        rows = [{k: v for k, v in r.items() if k != "attributes"} for r in answer["records"]]
        return pd.DataFrame(rows)

    # --- pull -------------------------------------------------------------------------
    def _plan(self, table: str, fields: Sequence[str]) -> PullPlan:
        om = self.mapping.objects.get(table)
        if om is None:
            raise ConfigError(f"{self.mapping_path}: objects.{table} is not mapped; cannot pull it")
        schema = self.describe(om.object)
        return build_plan(self.mapping, self.mapping_path, table, schema, fields)

    def pull(
        self,
        obj: str,
        *,
        fields: Sequence[str] = (),
        since: Cursor | None = None,
        full: bool = False,
    ) -> Iterator[Page]:
        """Pages of canonical table `obj` changed since `since` (None or `full` = everything).

        `fields` names canonical columns, output columns (quadrant, ...), `quadrant_override`,
        or raw CRM fields (kept under their own name); empty = every mapped column. The
        table's key column always comes first. Deleted records are in `Page.deleted_ids`.
        """
        table = obj if obj in self.mapping.objects else self._table_of(obj)
        plan = self._plan(table, fields)
        return pull_pages(self.api, plan, None if full else since, sleep=self.sleep)

    def reconciliation_due(self, last_full: datetime | None, now: datetime) -> bool:
        """Every `full_reconciliation_hours`: queryAll returns deleted records (IsDeleted) to
        the incremental read, but not records purged from the recycle bin (hard deleted,
        or emptied after 15 days); a full read finds those by their absence."""
        hours = self.connection.full_reconciliation_hours
        return last_full is None or now - last_full >= timedelta(hours=hours)

    def associations_due(self, last_refresh: datetime | None, now: datetime) -> bool:
        """Never: a record's AccountId is a field of the record, read with it."""
        return False

    def pull_associations(self, obj: str) -> Iterator[Page]:
        """Nothing: links come with the records (see `associations_due`)."""
        return iter(())

    def _table_of(self, obj: str) -> str:
        for table, om in self.mapping.objects.items():
            if om is not None and om.object.lower() == obj.lower():
                return table
        raise ConfigError(f"{self.mapping_path}: no table in objects maps to '{obj}'")

    # --- push / provision -----------------------------------------------------------------
    def write_chunk(self, records: int) -> int:
        """One sObject Collections batch, or the whole push as one Bulk 2.0 job above the
        connection's `bulk_write_threshold`."""
        if records >= self.connection.bulk_write_threshold:
            return max(records, 1)
        return self.WRITE_BATCH

    def write_calls(self, records: int) -> int:
        """ceil(records / 200) Collections calls, or one Bulk 2.0 job's calls."""
        if records == 0:
            return 0
        if records >= self.connection.bulk_write_threshold:
            return self.BULK_JOB_CALLS
        return math.ceil(records / self.WRITE_BATCH)

    def push(self, obj: str, changes: pd.DataFrame) -> WriteResult:
        """Update changed fields by Id (see connectors/salesforce/push.py for the frame shape)."""
        schema = self.describe(obj)
        before = dict(self.api.transport.calls)
        records = to_records(schema, changes)
        result = (
            Pusher(self.api, schema, self.policy, self.sleep).run(records)
            if records
            else WriteResult()
        )
        after = self.api.transport.calls
        result.calls = {k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}
        return result

    def provision(self, obj: str, fields: Sequence[FieldSpec]) -> ProvisionResult:
        """Create / extend the output fields on `obj` (idempotent); grants the permission set."""
        name = self.object_name(obj)
        result = Provisioner(self.api, name).run(fields)
        self._schemas.pop(name, None)
        return result

    def output_specs(
        self, table: str, required_labels: Mapping[str, Sequence[str]]
    ) -> list[FieldSpec]:
        """The FieldSpecs of the mapping's outputs for `table` (accounts / opportunities)."""
        return output_field_specs(self.mapping, table, required_labels)

    def create_tasks(self, tasks: Sequence[TaskSpec]) -> TaskResult:
        """Tasks on accounts (WhatId) for their owners (OwnerId), 200 per Collections call."""
        return create_tasks(self.api, tasks)

    def owner_emails(self, owner_ids: Sequence[str]) -> dict[str, str]:
        """E-mail addresses of the active Users among `owner_ids` (SOQL on User)."""
        return owner_emails(self.api, owner_ids)
