"""Everything under /__admin answers JSON, misses included (the README's promise)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient


@pytest.mark.parametrize(
    "path", ["/__admin/nope", "/__admin/scenarios/x/y", "/__admin/health/extra", "/__admin/nope/"]
)
def test_unknown_admin_paths_are_json_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert (response.status_code, response.headers["content-type"]) == (404, "application/json")
    assert response.json() == {
        "error": {
            "status": 404,
            "message": f"no admin endpoint {path}; the endpoints are listed at /__admin/openapi.json",
        }
    }


def test_wrong_method_on_an_admin_path_is_json_405(client: TestClient) -> None:
    response = client.post("/__admin/health")
    assert response.status_code == 405 and set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert (
        response.json()["error"]["message"] == "POST is not allowed on /__admin/health (allowed: GET, HEAD)"
    )


def test_unknown_root_paths_keep_plain_text(client: TestClient) -> None:
    response = client.get("/nope")
    assert (response.status_code, response.text) == (404, "Not Found")
