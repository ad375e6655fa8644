"""The plugin as integrators get it: loaded by the pytest11 entry point, running the documented
example test module (docs/examples/test_integration_example.py, the README's "Use it from pytest")
in a separate pytest, in-process and against an already running sandbox.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mock_server.testing.server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "test_integration_example.py"
# Plugins of this machine's environment that an integrator's project would not have; they only cost time.
UNRELATED_PLUGINS = "-p no:schemathesis -p no:hypothesispytest -p no:anyio"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    tests = tmp_path / "project" / "tests"
    tests.mkdir(parents=True)
    shutil.copy(EXAMPLE, tests / "test_qubs_reports.py")
    shutil.copy(EXAMPLE.with_name("conftest.py"), tests / "conftest.py")
    return tmp_path / "project"


@pytest.fixture
def installed_env(tmp_path: Path) -> dict[str, str]:
    """os.environ as after ``pip install vendor-sandbox``: importable, pytest11 entry point registered."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist_info = tmp_path / "site" / "vendor_sandbox-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: 0.1.0\n")
    lines = [
        "[pytest11]",
        *(f"{name} = {target}" for name, target in project["entry-points"]["pytest11"].items()),
    ]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MOCK_SERVER_", "PYTEST_"))}
    return {
        **base,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT)]),
        "PYTEST_ADDOPTS": UNRELATED_PLUGINS,
    }


def run_pytest(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)


def test_entry_point_is_the_plugin_module() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["pytest11"] == {"vendor_sandbox": "mock_server.testing.plugin"}


def test_example_passes_with_an_in_process_sandbox(project: Path, installed_env: dict[str, str]) -> None:
    result = run_pytest(project, installed_env, "--setup-show")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    # one server for the session, started with the settings fixture (overridden in conftest.py)
    assert result.stdout.count("SETUP    S vendor_sandbox_server") == 1
    assert result.stdout.count("SETUP    S vendor_sandbox_settings") == 1


def test_example_passes_against_a_running_sandbox(
    project: Path, installed_env: dict[str, str], live: LiveServer
) -> None:
    result = run_pytest(project, installed_env, "--vendor-sandbox-url", live.url)
    assert result.returncode == 0, result.stdout + result.stderr
    # every test ran in a session of its own on this server, created before and deleted after it
    admin_calls = [entry.operation for entry in live.sandbox.journal.entries(admin=True)]
    assert admin_calls.count("admin.createSession") == admin_calls.count("admin.deleteSession") == 3
    assert live.app.state.sessions.list() == []
    assert live.sandbox.journal.entries(admin=False) == []  # the default session saw none of it


def test_no_sandbox_at_the_url_is_a_clear_error(project: Path, installed_env: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: refused
        result = run_pytest(project, installed_env, "--vendor-sandbox-url", url)
    assert result.returncode == 1
    assert f"no healthy vendor-sandbox answers at {url}" in result.stdout


def test_example_passes_against_a_sandbox_with_an_admin_token(
    project: Path, installed_env: dict[str, str]
) -> None:
    from mock_server.settings import Settings

    with LiveServer(Settings(admin_token="plugin-token")) as guarded:
        result = run_pytest(
            project,
            installed_env,
            "--vendor-sandbox-url",
            guarded.url,
            "--vendor-sandbox-admin-token",
            "plugin-token",
        )
        refused = run_pytest(project, installed_env, "--vendor-sandbox-url", guarded.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert refused.returncode != 0
    assert "401" in refused.stdout
