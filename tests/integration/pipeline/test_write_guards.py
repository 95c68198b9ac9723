"""Write guards that need describe: an output on a HubSpot-defined property is refused by
`check` and by the run's preflight, before anything is read or written (the Salesforce
guards need no CRM call and are covered by tests/e2e/test_hostile_inputs.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from mappings.crm import shipped_mapping
from mappings.errors import ConfigError
from tests.integration.pipeline.conftest import Site


def _reason_on(site: Site, prop: str) -> None:
    """The mapping writes the reason into `prop`, which it no longer reads."""
    mapping = yaml.safe_load(shipped_mapping(site.crm).read_text())
    mapping["objects"]["accounts"]["fields"].pop("region")
    mapping["outputs"]["accounts"]["fields"]["reason"] = prop
    path = site.folder / "guarded-mapping.yaml"
    path.write_text(yaml.safe_dump(mapping))
    project = yaml.safe_load(site.project_file.read_text())
    project["connections"]["sb"]["mapping"] = str(path)
    site.project_file.write_text(yaml.safe_dump(project))


def test_an_output_on_a_hubspot_defined_property_is_refused(
    make_site: Callable[..., Site],
) -> None:
    from sync.pipeline import runner as pipeline
    from tests.integration.pipeline.conftest import AS_OF

    site = make_site("hubspot", accounts=20)
    countries = {rid: rec.get("country") for rid, rec in site.records("accounts").items()}
    _reason_on(site, "country")

    problems = pipeline.check(site.project(), env=site.env, as_of=AS_OF)
    guarded = [p for p in problems if p.key_path == "outputs.accounts.fields.reason"]
    assert len(guarded) == 1, problems
    assert "HubSpot-defined property of companies" in guarded[0].message
    assert "map the output to one" in guarded[0].message and guarded[0].line
    with pytest.raises(ConfigError, match="HubSpot-defined property"):
        site.run()
    assert site.write_count == 0
    after = {rid: rec.get("country") for rid, rec in site.records("accounts").items()}
    assert after == countries


def test_a_provisioned_custom_property_is_accepted(make_site: Callable[..., Site]) -> None:
    from sync.pipeline import runner as pipeline
    from tests.integration.pipeline.conftest import AS_OF

    site = make_site("hubspot", accounts=20)
    assert pipeline.check(site.project(), env=site.env, as_of=AS_OF) == []
