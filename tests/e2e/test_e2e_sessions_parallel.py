"""Parallel test runs against one running sandbox: the documented example, nine copies (27 tests),
under ``pytest -n 4 --vendor-sandbox-url``. Each test gets a session of its own, so one test's clock
advance, scenario or journal never reaches another (without sessions three copies under ``-n 2``
already failed). One run of nine copies overlaps as many tests as three runs of three did, without
paying pytest's and the workers' start-up three times."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import requests

from mock_server.testing.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "test_integration_example.py"
UNRELATED_PLUGINS = "-p no:schemathesis -p no:hypothesispytest -p no:anyio -p no:cacheprovider"
COPIES = 9  # of the example's three tests


@pytest.fixture
def project(tmp_path: Path) -> Path:
    tests = tmp_path / "project" / "tests"
    tests.mkdir(parents=True)
    for copy in range(COPIES):
        shutil.copy(EXAMPLE, tests / f"test_qubs_reports_{copy}.py")
    return tmp_path / "project"


@pytest.fixture
def installed_env(tmp_path: Path) -> dict[str, str]:
    """os.environ as after ``pip install vendor-sandbox``: importable, pytest11 entry point registered."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist_info = tmp_path / "site" / "vendor_sandbox-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: 0.1.0\n")
    entry_points = project["entry-points"]["pytest11"].items()
    lines = ["[pytest11]", *(f"{name} = {target}" for name, target in entry_points)]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MOCK_SERVER_", "PYTEST_"))}
    return {
        **base,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT)]),
        "PYTEST_ADDOPTS": UNRELATED_PLUGINS,
    }


def test_nine_copies_of_the_example_in_parallel_against_one_server(
    project: Path, installed_env: dict[str, str]
) -> None:
    with ServerProcess() as server:
        command = [sys.executable, "-m", "pytest", "-q", "-n", "4", "--vendor-sandbox-url", server.url]
        result = subprocess.run(
            command, cwd=project, env=installed_env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"{3 * COPIES} passed" in result.stdout
        left = requests.get(f"{server.url}/__admin/sessions", timeout=10).json()
        assert left["sessions"] == []  # every test's session was deleted after it
        journal = requests.get(f"{server.url}/__admin/requests", timeout=10).json()
        assert journal["requests"] == [], json.dumps(journal)[:500]  # the default session saw none of it
