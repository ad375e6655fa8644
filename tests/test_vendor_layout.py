"""One vendor, one folder: what defines each vendor, and that its rules live nowhere else.

For each vendor the test lists the files that define it (its package folder, its default fixture file
in the top-level fixtures/, its docs page) and fails when a vendor-specific rule is found elsewhere:
magic ids outside its folder, lifetimes outside its ``limits.py``, default fixture data outside
fixtures/. The README's and the docs pages' lifetime tables must be what the code declares.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server.core.limits import render_table
from mock_server.core.vendor import Vendor
from mock_server.vendors import available_vendors

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mock_server"
VENDORS = {name: v for name, v in available_vendors().items() if name != "storage"}
FOLDERS = {name: PACKAGE / "vendors" / name for name in VENDORS} | {"storage": PACKAGE / "storage"}
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".json", ".html"}
LIFETIME_NAME = re.compile(r"TTL|LIFETIME|EXPIR", re.IGNORECASE)
# Magic values that are plain words or numbers ("dead", "rate-limited", "500") also occur as ordinary
# text elsewhere; the test looks for the distinctive ones (A400, patient-404, sandbox-fail-503, ...).
PLAIN_WORDS = re.compile(r"[a-z]+(?:-[a-z]+)*|\d+")
TABLE = re.compile(r"<!-- limits:begin -->\n(.*?)<!-- limits:end -->", re.DOTALL)


def files_defining(name: str) -> list[Path]:
    """Every file that defines vendor ``name``: its folder, its default fixtures, its docs page."""
    folder = sorted(p for p in FOLDERS[name].rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    docs = [ROOT / "docs" / "vendors" / f"{name}.md"] if name in VENDORS else []  # storage: the README
    return [*folder, ROOT / "fixtures" / f"{name}.yaml", *docs]


def text_files(outside: Path) -> Iterator[Path]:
    for path in PACKAGE.rglob("*"):
        if (
            path.suffix in TEXT_SUFFIXES
            and "__pycache__" not in path.parts
            and not path.is_relative_to(outside)
        ):
            yield path


def magic_values(vendor: Vendor) -> set[str]:
    """The scenario names and the identifiers the vendor's magic-id rules match on (path, query, header
    and form values)."""
    assert vendor.magic_scenarios is not None
    document = yaml.safe_load(vendor.magic_scenarios.read_text(encoding="utf-8"))
    found: set[str] = set()

    def walk(node: Any, in_values: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, in_values or key in {"path_params", "query", "headers", "form"})
        elif isinstance(node, list):
            for item in node:
                walk(item, in_values)
        elif in_values and isinstance(node, str) and not PLAIN_WORDS.fullmatch(node):
            found.add(node)

    for scenario in document["scenarios"]:
        found.add(scenario["name"])
        for rule in scenario["rules"]:
            walk(rule["match"], False)
    return found


@pytest.mark.parametrize("name", [*VENDORS, "storage"])
def test_the_files_that_define_a_vendor(name: str) -> None:
    files = files_defining(name)
    relative = [str(p.relative_to(ROOT)) for p in files]
    assert all(p.is_file() for p in files), relative
    vendor = available_vendors()[name]
    assert vendor.magic_scenarios is not None and vendor.magic_scenarios in files
    if vendor.openapi_path is not None:
        assert vendor.openapi_path in files
    fixture = yaml.safe_load((ROOT / "fixtures" / f"{name}.yaml").read_text(encoding="utf-8"))
    assert list(fixture) == [name], "one file per vendor, holding that vendor's section only"


@pytest.mark.parametrize("name", [*VENDORS, "storage"])
def test_magic_ids_live_only_in_the_vendors_folder(name: str) -> None:
    values = magic_values(available_vendors()[name])
    assert values
    pattern = re.compile("|".join(rf"(?<![\w-]){re.escape(v)}(?![\w-])" for v in sorted(values)))
    strays = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in text_files(FOLDERS[name])
        for match in [pattern.search(path.read_text(encoding="utf-8"))]
        if match
    ]
    assert not strays, f"{name}'s magic ids outside {FOLDERS[name].relative_to(ROOT)}"


def test_lifetimes_are_assigned_only_in_a_vendors_limits_module() -> None:
    strays = []
    for path in PACKAGE.rglob("*.py"):
        # storage/ implements S3's own rules (X-Amz-Expires at most 7 days); vendors declare theirs in
        # their limits.py
        if path.name == "limits.py" or path.is_relative_to(FOLDERS["storage"]):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
                numbers = [
                    c
                    for c in ast.walk(node.value)
                    if isinstance(c, ast.Constant) and type(c.value) in (int, float)
                ]
                if numbers and any(LIFETIME_NAME.search(n) for n in names):
                    strays.append(f"{path.relative_to(ROOT)}:{node.lineno} {', '.join(names)}")
    assert not strays, "lifetimes belong in mock_server/vendors/<vendor>/limits.py"


def test_default_fixture_data_lives_only_in_the_top_level_fixtures() -> None:
    known = set(available_vendors())
    strays = []
    for path in PACKAGE.rglob("*.y*ml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data and set(data) <= known:
            strays.append(str(path.relative_to(ROOT)))
    assert not strays
    assert sorted(p.stem for p in (ROOT / "fixtures").glob("*.yaml")) == sorted(known)


def test_the_readme_table_is_what_the_vendors_declare() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (table,) = TABLE.findall(readme)
    assert table == render_table((f"`{name}`", vendor.limits) for name, vendor in VENDORS.items())


@pytest.mark.parametrize("name", VENDORS)
def test_the_docs_page_is_what_the_vendor_declares(name: str) -> None:
    page = (ROOT / "docs" / "vendors" / f"{name}.md").read_text(encoding="utf-8")
    (table,) = TABLE.findall(page)
    assert table == render_table([(f"`{name}`", VENDORS[name].limits)])
    operations = {route.name.split(":", 1)[1] for route in VENDORS[name].routes if route.name}
    undocumented = sorted(op for op in operations - {"openapi"} if f"`{op}`" not in page)
    assert not undocumented, f"docs/vendors/{name}.md does not name these operations"
