"""Start-up imports only what start-up needs: building the app (and the pytest plugin's server) loads
none of the libraries that only some requests use (FastAPI for Decoda, moto for the S3 API, PyJWT,
Pillow, werkzeug, jsonschema). Checked in a fresh interpreter, since this test process has imported
them all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFERRED = ("fastapi", "pydantic", "moto", "boto3", "botocore", "jwt", "PIL", "werkzeug", "jsonschema")
CHILD = """
import json, sys
from mock_server.app import create_app
{extra}
app = create_app()
{then}
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
"""
FIRST_DECODA_REQUEST = """
from starlette.testclient import TestClient
with TestClient(app) as client:
    assert client.get("/__admin/health").status_code == 200
    assert "fastapi" not in sys.modules
    answer = client.get("/decoda/attachments/count", headers={"TENANT": "demo", "API-KEY": "wrong"})
    assert answer.status_code == 401 and answer.json() == {"detail": "Invalid API key"}, answer.text
"""


def _loaded_after(extra: str = "", then: str = "") -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(extra=extra, then=then)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "extra",
    ["", "import mock_server.testing.plugin, mock_server.testing.server, mock_server.cli"],
    ids=["create_app", "plugin-and-cli"],
)
def test_building_the_app_loads_no_deferred_library(extra: str) -> None:
    loaded = _loaded_after(extra)
    assert "starlette" in loaded  # the check sees what was imported
    assert loaded.isdisjoint(DEFERRED), sorted(loaded & set(DEFERRED))


def test_the_first_decoda_request_builds_its_fastapi_app() -> None:
    assert "fastapi" in _loaded_after(then=FIRST_DECODA_REQUEST)
