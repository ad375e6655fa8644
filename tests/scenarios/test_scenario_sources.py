"""The built-in magic-id files are checked against the catalog here, not at every start-up
(mock_server/scenarios/sources.py): start-up then never reads a vendor's openapi.yaml."""

from __future__ import annotations

import pytest

from mock_server.scenarios.catalog import Catalog
from mock_server.scenarios.model import load_scenario_file
from mock_server.vendors import available_vendors

VENDORS = available_vendors()
CATALOG = Catalog.of(VENDORS)


@pytest.mark.parametrize(
    "vendor", [v for v in VENDORS.values() if v.magic_scenarios is not None], ids=lambda v: v.name
)
def test_built_in_files_pass_the_catalog_checks(vendor: object) -> None:
    scenarios = load_scenario_file(vendor.magic_scenarios, CATALOG)  # type: ignore[attr-defined]
    assert scenarios and all(scenario.rules for scenario in scenarios)


def test_building_the_catalog_reads_no_document() -> None:
    catalog = Catalog.of(VENDORS)
    decoda = catalog.operations["decoda.getPatient"]
    assert decoda.path_params == frozenset({"patient_id"})
    assert decoda.docs is not None and decoda.docs._found == {}
    assert "api-key" in (decoda.headers or ())  # read now, from Decoda's openapi.yaml
    assert decoda.docs._found
