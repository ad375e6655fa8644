"""``/__admin/scenarios`` and ``/__admin/operations``, in-process and through ``AdminClient``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox
from mock_server.scenarios.operations import operation_table, operations
from mock_server.testing.admin_client import AdminClient
from mock_server.testing.server import LiveServer

EXAMPLES = Path(__file__).resolve().parents[2] / "scenarios"
YAML_DOC = """
scenarios:
  - name: busy-storage
    description: uploads answer 503
    rules:
      - {id: slow-down, match: {operation: storage.putObject}, respond: 503}
"""


def upload_status(client: TestClient, sandbox: Sandbox) -> int:
    url = sandbox.storage.presign_put("http://127.0.0.1:8080", "sandbox-uploads", "k", expires_in=60).url
    return client.put(url, content=b"x").status_code


def names(client: TestClient) -> list[str]:
    return [s["name"] for s in client.get("/__admin/scenarios").json()["scenarios"]]


def test_list_shows_defaults_files_and_no_errors(client: TestClient) -> None:
    listing = client.get("/__admin/scenarios").json()
    assert [s["name"] for s in listing["scenarios"]] == [
        "magic-qubs",
        "magic-decoda",
        "magic-saferme",
        "magic-candid",
        "magic-storage",
    ]
    assert listing["files"] == [] and listing["errors"] == []
    storage = listing["scenarios"][-1]
    assert (
        storage["source"].endswith("defaults.yaml") and storage["enabled"] and storage["state"] == "Started"
    )
    assert storage["rules"][0]["label"] == "magic-storage/key-503" and storage["rules"][0]["hits"] == 0


def test_add_yaml_then_hits_are_counted(client: TestClient, sandbox: Sandbox) -> None:
    response = client.post(
        "/__admin/scenarios", content=YAML_DOC, headers={"content-type": "application/yaml"}
    )
    assert response.status_code == 201 and response.json()["loaded"] == ["busy-storage"]
    assert names(client)[0] == "busy-storage"
    assert upload_status(client, sandbox) == 503
    described = client.get("/__admin/scenarios/busy-storage").json()
    assert (
        described["hits"] == 1
        and described["rules"][0]["seen"] == 1
        and described["source"] == "request body"
    )
    assert described["rules"][0]["respond"] == 503  # the rule as written is shown


def test_add_json_single_scenario_and_replace_by_name(client: TestClient, sandbox: Sandbox) -> None:
    client.post("/__admin/scenarios", content=YAML_DOC)
    other = {"name": "other", "description": "d", "rules": [{"pass": True}]}
    assert client.post("/__admin/scenarios", json=other).status_code == 201
    replacement = {
        "name": "busy-storage",
        "description": "now 500",
        "rules": [{"match": {"operation": "storage.putObject"}, "respond": 500}],
    }
    assert client.post("/__admin/scenarios", json=replacement).status_code == 201
    assert names(client)[:2] == ["busy-storage", "other"]  # replaced in place, order kept
    assert upload_status(client, sandbox) == 500


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        ("scenarios: [", "(top level)", "not valid YAML"),
        (
            json.dumps({"scenarios": [{"name": "x", "description": "d", "rules": [{"respond": 302}]}]}),
            "scenarios/0/rules/0/respond",
            "302 is less than the minimum of 400",
        ),
        ("{name: x, description: d, rules: [{match: {vendor: qubs}}]}", "rules/0", "at least one action"),
    ],
    ids=["yaml", "schema", "no-action"],
)
def test_invalid_documents_are_400_with_file_path_and_reason(
    client: TestClient, body: str, path: str, reason: str
) -> None:
    response = client.post("/__admin/scenarios?source=ci.yaml", content=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["status"], error["file"], error["path"]) == (400, "ci.yaml", path)
    line = f":{error['line']}" if "line" in error else ""
    assert reason in error["reason"] and error["message"].startswith(f"ci.yaml{line}: {path}: ")


def test_non_utf8_body_is_refused(client: TestClient) -> None:
    assert client.post("/__admin/scenarios", content=b"\xff\xfe").status_code == 400


def test_enable_disable_delete(client: TestClient, sandbox: Sandbox) -> None:
    client.post("/__admin/scenarios", content=YAML_DOC)
    assert client.post("/__admin/scenarios/busy-storage/disable").json()["enabled"] is False
    assert upload_status(client, sandbox) == 200
    assert client.post("/__admin/scenarios/busy-storage/enable").json()["enabled"] is True
    assert upload_status(client, sandbox) == 503
    assert client.delete("/__admin/scenarios/busy-storage").json() == {
        "status": "removed",
        "name": "busy-storage",
    }
    assert upload_status(client, sandbox) == 200
    for method, path in [
        ("DELETE", "/scenarios/nope"),
        ("GET", "/scenarios/nope"),
        ("POST", "/scenarios/nope/enable"),
        ("POST", "/scenarios/nope/disable"),
    ]:
        response = client.request(method, f"/__admin{path}")
        assert response.status_code == 404 and "nope" in response.json()["error"]["message"]


def test_delete_all_goes_back_to_the_defaults(client: TestClient) -> None:
    client.post("/__admin/scenarios", content=YAML_DOC)
    client.delete("/__admin/scenarios/magic-qubs")
    assert names(client)[:2] == ["busy-storage", "magic-decoda"]
    assert client.delete("/__admin/scenarios").json()["status"] == "cleared"
    assert names(client) == ["magic-qubs", "magic-decoda", "magic-saferme", "magic-candid", "magic-storage"]
    client.delete("/__admin/scenarios/magic-qubs")
    client.post("/__admin/reset")
    assert names(client)[0] == "magic-qubs"


def test_reset_counters_and_states(client: TestClient, sandbox: Sandbox) -> None:
    client.post(
        "/__admin/scenarios",
        json={
            "name": "once",
            "description": "d",
            "rules": [
                {
                    "match": {"operation": "storage.putObject"},
                    "times": 1,
                    "next_state": "used",
                    "respond": 503,
                }
            ],
        },
    )
    assert [upload_status(client, sandbox) for _ in range(2)] == [503, 200]
    assert client.get("/__admin/scenarios/once").json()["state"] == "used"
    assert client.post("/__admin/scenarios/reset").json() == {"status": "reset"}
    described = client.get("/__admin/scenarios/once").json()
    assert (described["state"], described["hits"]) == ("Started", 0)
    assert upload_status(client, sandbox) == 503


def test_operations_come_from_the_routes(client: TestClient, app: object) -> None:
    found = operations(app)
    assert {"storage.putObject", "storage.getObject", "storage.postObject", "storage.downloadObject"} <= set(
        found
    )
    assert found == sorted(found) and not any(name.startswith("admin.") for name in found)
    table = client.get("/__admin/operations").json()
    assert table["count"] == len(found)
    rows = {row["operation"]: row for row in table["operations"]}
    assert rows["storage.postObject"] == {
        "operation": "storage.postObject",
        "vendor": "storage",
        "methods": ["POST"],
        "path": "/s3/{bucket}",
    }
    assert rows["storage.getObject"]["methods"] == ["GET"]
    if "qubs" in rows.get("qubs.createReportAttachments", {}).get("vendor", ""):
        assert rows["qubs.createReportAttachments"]["path"].startswith("/qubs/integrations/v1/{domain}/")


def test_operation_table_skips_unnamed_routes_and_dedupes_mounts() -> None:
    from starlette.routing import Mount, Route

    async def handler(request: object) -> None: ...

    inner = [Route("/x", handler, methods=["GET"], name="v:getX"), Route("/y", handler, name=None)]
    table = operation_table([Mount("/v", routes=inner), Mount("", routes=inner)])
    assert table == [{"operation": "v.getX", "vendor": "v", "methods": ["GET"], "path": "/v/x"}]


def test_admin_client_loads_and_clears_over_http(live: LiveServer) -> None:
    admin = AdminClient(live.url)
    assert admin.load_scenario(EXAMPLES / "storage-slowdown-twice.yaml") == ["storage-slowdown-twice"]
    assert admin.scenarios()[0].source == str(EXAMPLES / "storage-slowdown-twice.yaml")
    url = live.sandbox.storage.presign_put(live.url, "sandbox-uploads", "k", expires_in=60).url
    assert requests.put(url, data=b"x", timeout=10).status_code == 503
    admin.clear_scenarios()
    assert requests.put(url, data=b"x", timeout=10).status_code == 200


TWO_RULES = """
scenarios:
  - name: two-rules
    description: uploads answer 503, then 500
    rules:
      - {id: first, match: {operation: storage.putObject}, respond: 503}
      - {match: {operation: storage.putObject}, respond: 500}
"""


def test_one_rule_is_switched_off_and_on(client: TestClient, sandbox: Sandbox) -> None:
    client.post("/__admin/scenarios", content=TWO_RULES, headers={"content-type": "application/yaml"})
    assert upload_status(client, sandbox) == 503
    off = client.patch("/__admin/scenarios/two-rules/rules/first", json={"enabled": False})
    assert off.status_code == 200
    assert [rule["enabled"] for rule in off.json()["rules"]] == [False, True]
    assert upload_status(client, sandbox) == 500  # the next rule answers; the disabled one is not counted
    hits = [rule["hits"] for rule in client.get("/__admin/scenarios/two-rules").json()["rules"]]
    assert hits == [1, 1]
    client.post("/__admin/scenarios/reset")  # counters restart, the switch stays
    assert client.get("/__admin/scenarios/two-rules").json()["rules"][0]["enabled"] is False
    by_index = client.patch("/__admin/scenarios/two-rules/rules/0", json={"enabled": True})
    assert by_index.json()["rules"][0]["enabled"] is True
    assert upload_status(client, sandbox) == 503


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/__admin/scenarios/nope/rules/0", {"enabled": False}, 404),
        ("/__admin/scenarios/two-rules/rules/7", {"enabled": False}, 404),
        ("/__admin/scenarios/two-rules/rules/first", {"enabled": "no"}, 400),
        ("/__admin/scenarios/two-rules/rules/first", {"enabled": True, "x": 1}, 400),
        ("/__admin/scenarios/two-rules/rules/first", [], 400),
    ],
    ids=["unknown-scenario", "unknown-rule", "not-a-boolean", "extra-field", "not-an-object"],
)
def test_rule_switch_refusals(client: TestClient, path: str, body: object, status: int) -> None:
    client.post("/__admin/scenarios", content=TWO_RULES, headers={"content-type": "application/yaml"})
    response = client.patch(path, json=body)
    assert response.status_code == status
    assert response.json()["error"]["status"] == status


def test_admin_client_switches_a_rule(live: LiveServer) -> None:
    admin = AdminClient(live.url)
    admin.reset()
    try:
        admin.load_scenario(TWO_RULES)
        info = admin.enable_rule("two-rules", "first", enabled=False)
        assert [rule["enabled"] for rule in info.raw["rules"]] == [False, True]
        assert admin.enable_rule("two-rules", 0).raw["rules"][0]["enabled"] is True
    finally:
        admin.reset()
