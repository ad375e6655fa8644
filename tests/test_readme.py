"""The README's promises stay true: quick start, every setting, and snippets identical to the tested files."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mock_server.settings import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_quick_start_is_the_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("## ", 1)[0]
    assert "make run" in quick_start and "make test" in quick_start


def test_running_the_tests_is_what_the_makefile_does() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert (
        "WORKERS ?= logical" in makefile
        and "pytest -q -n $(WORKERS) --maxprocesses=4 $(PYTEST_ARGS)" in makefile
    )
    assert "`make test WORKERS=0` runs it in one process" in README and "at most 4" in README
    assert "pytest-xdist" in README and "pytest-xdist" in (ROOT / "pyproject.toml").read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
def test_every_setting_is_documented(option: object) -> None:
    assert f"`{option.flag}`" in README and f"`{option.env}`" in README  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "snippet",
    [
        "docs/ci/github-actions.yml",
        "docs/ci/gitlab-ci.yml",
        "docs/ci/github-release.yml",
        "docs/examples/test_integration_example.py",
        "docs/examples/conftest.py",
        "docker-compose.yml",
    ],
)
def test_snippets_are_the_tested_files(snippet: str) -> None:
    assert (ROOT / snippet).read_text(encoding="utf-8").rstrip() in README


@pytest.mark.parametrize("example", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda path: path.name)
def test_every_example_scenario_is_listed(example: Path) -> None:
    assert f"`{example.name}`" in README


def test_every_operation_name_is_listed(client: TestClient) -> None:
    listed = README.split("### Operation names", 1)[1].split("### ", 1)[0]
    served = {row["operation"] for row in client.get("/__admin/operations").json()["operations"]}
    missing = sorted(name for name in served if f"`{name}`" not in listed and not name.endswith(".openapi"))
    assert not missing, missing
