"""Scenarios checked against what exists, every problem reported at once, and YAML that cannot hurt."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mock_server.app import available_vendors, create_app
from mock_server.cli import main
from mock_server.scenarios.catalog import Catalog
from mock_server.scenarios.model import ScenarioError, parse_text
from mock_server.settings import Settings

CATALOG = Catalog.of(available_vendors())
BASE = "http://127.0.0.1:8080"
RULE = "scenarios:\n  - name: s\n    description: d\n    rules:\n      - %s\n"
BILLION_LAUGHS = (
    "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
    + "".join(
        f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "scenarios: *i\n"
)


@pytest.mark.parametrize(
    "rule, message",
    [
        (
            "{match: {vendor: qubz}, respond: 500}",
            "f.yaml:5: scenarios/0/rules/0/match/vendor: unknown vendor 'qubz' (did you mean qubs?)",
        ),
        (
            "{match: {operation: qubs.createReportAttachment}, respond: 429}",
            "f.yaml:5: scenarios/0/rules/0/match/operation: unknown operation 'qubs.createReportAttachment' "
            "(did you mean qubs.createReportAttachments?)",
        ),
        (
            "{match: {operation: qubs.createReportAttachments, path_params: {appointmentID: A1}}, respond: 500}",  # noqa: E501
            "f.yaml:5: scenarios/0/rules/0/match/path_params/appointmentID: qubs.createReportAttachments has "
            "no path parameter 'appointmentID' (did you mean appointmentId?); it has: appointmentId, domain",
        ),
        (
            "{match: {vendor: qubs, path_params: {appointment: A1}}, respond: 500}",
            "f.yaml:5: scenarios/0/rules/0/match/path_params/appointment: none of the 10 qubs operations this "  # noqa: E501
            "rule can match has a path parameter 'appointment' (did you mean appointmentId?); it has: "
            "appointmentId, attachmentGuid, domain",
        ),
        (
            "{match: {operation: saferme.createFileAttachment, headers: {X-Team-Id: '1'}}, respond: 500}",
            "f.yaml:5: scenarios/0/rules/0/match/headers/X-Team-Id: saferme.createFileAttachment has no header "  # noqa: E501
            "'X-Team-Id' (did you mean x-teamid?); it has: authorization, x-appid, x-installationid, x-teamid",  # noqa: E501
        ),
        (
            "{match: {operation: decoda.uploadAttachment, form: {patientId: p}}, respond: 500}",
            "f.yaml:5: scenarios/0/rules/0/match/form/patientId: decoda.uploadAttachment has no form field "
            "'patientId' (did you mean patient_id?); it has: answer_id, attachment, external_id, name, "
            "note_id, patient_id",
        ),
        (
            "{match: {operation: qubs.createReportAttachments, json: {item.0.fileName: a}}, respond: 400}",
            "f.yaml:5: scenarios/0/rules/0/match/json/item.0.fileName: qubs.createReportAttachments has no "
            "JSON field 'item.0.fileName' (did you mean items?); it has: items",
        ),
        (
            "{match: {operation: decoda.listAttachments, query: {patient: p}}, respond: 500}",
            "f.yaml:5: scenarios/0/rules/0/match/query/patient: decoda.listAttachments has no query parameter "  # noqa: E501
            "'patient' (did you mean patient_id?); it has: date, note_id, patient_id, tagIds, tag_ids, tz",
        ),
        (
            "{match: {operation: qubs.createReportAttachments, method: GET}, respond: 400}",
            "f.yaml:5: scenarios/0/rules/0/match/method: qubs.createReportAttachments does not take GET "
            "(it takes POST)",
        ),
        (
            "{match: {operation: storage.putObject}, respond: 429}",
            "f.yaml:5: scenarios/0/rules/0/respond: storage cannot answer 429 in its own error format (it "
            "answers 400, 403, 404, 405, 411, 412, 416, 500, 501, 503; give a 'body' to answer anyway)",
        ),
    ],
    ids=[
        "unknown-vendor",
        "unknown-operation",
        "unknown-path-param",
        "path-param-of-no-operation",
        "unknown-header",
        "unknown-form-field",
        "unknown-json-field",
        "unknown-query",
        "method-not-taken",
        "status-vendor-cannot-answer",
    ],
)
def test_names_the_sandbox_does_not_have_are_refused(rule: str, message: str) -> None:
    with pytest.raises(ScenarioError) as refused:
        parse_text(RULE % rule, "f.yaml", CATALOG)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    "rule",
    [
        "{match: {operation: 'qubs.*', headers: {User-Agent: {present: true}}}, respond: 500}",
        "{match: {operation: storage.putObject}, respond: {status: 429, body: slow down}}",
        "{match: {path_params: {appointmentId: A1}}, respond: 429}",
        "{match: {operation: storage.getObject, method: HEAD}, respond: 404}",
    ],
    ids=["common-header", "status-with-own-body", "catch-all", "head-of-get"],
)
def test_what_exists_is_accepted(rule: str) -> None:
    assert parse_text(RULE % rule, "f.yaml", CATALOG)


def test_every_problem_of_a_file_is_reported_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text(
        "scenarios:\n  - name: s\n    description: d\n    rules:\n"
        "      - {match: {vendor: qubz}, respond: 500}\n"
        "      - {match: {operation: qubs.createReportAttachments}, respond: 302}\n"
        "      - {match: {operation: decoda.getPatient, path_params: {patientId: x}}, respond: 404}\n",
        encoding="utf-8",
    )
    (tmp_path / "b.yaml").write_text(RULE % "{match: {operation: 'qubs.*'}, respond: 503}", encoding="utf-8")
    assert main(["validate", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    file = tmp_path / "a.yaml"
    assert err.splitlines() == [
        f"{file}:5: scenarios/0/rules/0/match/vendor: unknown vendor 'qubz' (did you mean qubs?)",
        f"{file}:6: scenarios/0/rules/1/respond: 302 is less than the minimum of 400",
        f"{file}:7: scenarios/0/rules/2/match/path_params/patientId: decoda.getPatient has no path parameter "
        "'patientId' (did you mean patient_id?); it has: patient_id",
    ]
    assert out == f"ok: {tmp_path / 'b.yaml'}\n"


def test_validate_names_a_folder_without_scenarios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"invalid: {tmp_path}: no scenario files (*.yaml, *.yml, *.json)\n"


def test_yaml_errors_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text("scenarios:\n  - name: [\n", encoding="utf-8")
    assert main(["validate", str(file)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{file}:") and "<unicode string>" not in err


@pytest.mark.parametrize(
    "text, message",
    [
        (
            BILLION_LAUGHS,
            "f.yaml:6: (top level): expands to more than 100000 values (aliases repeating aliases?)",
        ),
        ("a: &a [1, *a]\n", "f.yaml:1: (top level): alias *a is inside its own anchor (a cycle)"),
        ("[" * 5000 + "]" * 5000, "f.yaml:1: (top level): nested deeper than 64 levels"),
        ("scenarios: \x00\n", "f.yaml:1: (top level): not valid YAML: character #x0000 is not allowed"),
    ],
    ids=["billion-laughs", "cyclic-alias", "deep-nesting", "binary"],
)
def test_costly_yaml_is_refused_quickly(text: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as refused:
        parse_text(text, "f.yaml", CATALOG)
    assert str(refused.value) == message
    assert len(BILLION_LAUGHS) < 700 and time.perf_counter() - started < 5  # generous: never expanded


def test_deeply_nested_body_to_the_admin_api_is_400() -> None:
    app = create_app(Settings(default_scenarios=False))
    try:
        with TestClient(app, base_url=BASE) as client:
            response = client.post("/__admin/scenarios", content="[" * 10000 + "]" * 10000)
            assert response.status_code == 400
            assert response.json()["error"]["reason"] == "nested deeper than 64 levels"
            response = client.post(
                "/__admin/scenarios", content=RULE % "{match: {vendor: qubz}, respond: 500}"
            )
            assert response.status_code == 400
            assert response.json()["error"]["reason"] == "unknown vendor 'qubz' (did you mean qubs?)"
    finally:
        app.state.sandbox.close()


GOOD = RULE % "{match: {operation: qubs.getPendingAppointment}, respond: 503}"


@pytest.mark.parametrize(
    "content, reason",
    [
        (
            "scenarios: [{name: caf\u00e9}]\n".encode("latin-1"),
            "not UTF-8 text (byte 0xe9); save the file as UTF-8",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text (byte 0x89); save the file as UTF-8"),
        (("[" * 3000 + "]" * 3000).encode(), "nested deeper than 64 levels"),
        (BILLION_LAUGHS.encode(), "expands to more than 100000 values (aliases repeating aliases?)"),
    ],
    ids=["latin-1", "binary", "deep", "billion-laughs"],
)
def test_a_file_broken_while_running_keeps_its_last_good_version(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    file = tmp_path / "mine.yaml"
    file.write_text(GOOD, encoding="utf-8")
    app = create_app(Settings(scenarios=(file,), default_scenarios=False))
    app.state.sandbox.scenarios.reload_interval = 0
    path = "/qubs/integrations/v1/acme/reporting/appointments/A123456"
    headers = {"Authorization": "Bearer qubs-dev-token"}
    try:
        with TestClient(app, base_url=BASE) as client:
            assert client.get(path, headers=headers).status_code == 503
            file.write_bytes(content)
            stamp = file.stat().st_mtime_ns + 1_000_000_000
            os.utime(file, ns=(stamp, stamp))
            assert client.get(path, headers=headers).status_code == 503  # the last good version answers
            listing = client.get("/__admin/scenarios")
            assert listing.status_code == 200
            (error,) = listing.json()["errors"]
            assert (error["file"], error["reason"]) == (str(file), reason)
    finally:
        app.state.sandbox.close()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("mock_server", "uvicorn")]
    saved = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


@pytest.mark.usefixtures("restore_logging")
def test_a_scenario_naming_what_does_not_exist_stops_the_server_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "typo.yaml"
    file.write_text(
        RULE % "{match: {operation: qubs.createReportAttachment}, respond: 429}"
        + "      - {match: {vendor: qubz}, respond: 500}\n",
        encoding="utf-8",
    )
    assert main(["serve", "--port", "0", "--scenarios", str(file)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "mock-server: cannot start:",
        f"{file}:5: scenarios/0/rules/0/match/operation: unknown operation 'qubs.createReportAttachment' "
        "(did you mean qubs.createReportAttachments?)",
        f"{file}:6: scenarios/0/rules/1/match/vendor: unknown vendor 'qubz' (did you mean qubs?)",
    ]


def test_a_problem_of_the_scenario_does_not_hide_its_rules_problems() -> None:
    text = (
        "scenarios:\n"
        "  - name: s\n"
        "    rules:\n"
        "      - {match: {operation: qubs.createReportAttachment}, respond: 500}\n"
    )
    with pytest.raises(ScenarioError) as refused:
        parse_text(text, "f.yaml", CATALOG)
    assert str(refused.value).splitlines() == [
        "f.yaml:2: scenarios/0: 'description' is a required property",
        "f.yaml:4: scenarios/0/rules/0/match/operation: unknown operation 'qubs.createReportAttachment' "
        "(did you mean qubs.createReportAttachments?)",
    ]
