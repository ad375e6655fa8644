"""The wheel: built from this checkout, it ships the top-level fixtures/ and an install of it serves
exactly the data the checkout serves (one copy of the default fixtures in the repository)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.settings import DEFAULT_FIXTURES, Settings, default_fixtures_dir

ROOT = Path(__file__).resolve().parents[1]
# What the sdist and the docker builder stage hold (MANIFEST.in, Dockerfile's COPY lines).
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "mock_server", "fixtures")

SERVE = """
import json, sys
import mock_server
from starlette.testclient import TestClient
from mock_server.app import create_app
from mock_server.settings import Settings
with TestClient(create_app(Settings(seed=7))) as client:
    body = client.get("/__admin/fixtures").json()
print(json.dumps({"package": mock_server.__file__, "files": body["files"], "data": body["data"]}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(path, source / name)
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--quiet",
        "-w",
        str(work / "dist"),
        str(source),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (built,) = (work / "dist").glob("vendor_sandbox-*.whl")
    yield built


def test_the_checkout_serves_the_top_level_fixtures() -> None:
    assert DEFAULT_FIXTURES == ROOT / "fixtures"
    second_copy = list((ROOT / "mock_server").glob("fixtures/*.y*ml"))
    assert not second_copy, "default fixture data belongs in the top-level fixtures/ only"


def test_an_installed_package_without_a_checkout_reads_its_own_copy(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "mock_server"
    (package / "fixtures").mkdir(parents=True)
    assert default_fixtures_dir(package) == package / "fixtures"


def test_the_wheel_ships_every_default_fixture_file_byte_for_byte(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            Path(name).name: archive.read(name)
            for name in archive.namelist()
            if name.startswith("mock_server/fixtures/")
        }
    expected = {path.name: path.read_bytes() for path in (ROOT / "fixtures").iterdir() if path.is_file()}
    assert {name for name in expected if name.endswith(".yaml")} == {
        "candid.yaml",
        "decoda.yaml",
        "qubs.yaml",
        "saferme.yaml",
        "storage.yaml",
    }
    assert shipped == expected


def test_an_installed_wheel_serves_the_same_data_as_the_checkout(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    # -P: the working directory (a temporary one anyway) is not put on sys.path; PYTHONPATH comes
    # before the editable install of the checkout, so the wheel's copy of mock_server is imported.
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-P", "-c", SERVE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    installed = json.loads(done.stdout)
    assert Path(installed["package"]).is_relative_to(site)
    assert [Path(name) for name in installed["files"]] == [site / "mock_server" / "fixtures"]
    with TestClient(create_app(Settings(seed=7))) as client:
        here = client.get("/__admin/fixtures").json()
    assert here["files"] == [str(ROOT / "fixtures")]
    assert installed["data"] == here["data"]
