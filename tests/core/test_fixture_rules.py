"""Fixture ids and references the schemas cannot check, refused with file, line and path; folders that
hold no fixtures refused at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.app import available_vendors, create_app
from mock_server.cli import main
from mock_server.core.fixtures import FixtureError, load_fixtures
from mock_server.settings import DEFAULT_FIXTURES, Settings

VENDORS = available_vendors()
SCHEMAS = {name: vendor.fixtures_schema or {"type": "object"} for name, vendor in VENDORS.items()}
RULES = {name: vendor.fixture_rules for name, vendor in VENDORS.items()}


def default_line(vendor: str, text: str) -> int:
    """Line of ``text`` in a default fixture file, wherever the defaults live."""
    file = next(p for p in sorted(DEFAULT_FIXTURES.iterdir()) if p.name.startswith(vendor))
    return next(i for i, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "qubs:\n  tokens:\n    - {token: t-new, clientId: qubs-dev-clint, domains: [acme]}\n",
            "x.yaml:3: qubs/tokens/0/clientId: 'qubs-dev-clint' names no client under qubs/clients/* "
            "(did you mean qubs-dev-client?)",
        ),
        (
            "qubs:\n  attachments:\n    - {domain: acme, appointmentId: A999, guid: 11111111-28ae-4d2a-a6f7-15880912cf4f, category: Referral,"  # noqa: E501
            " fileName: a.pdf}\n",
            "x.yaml:3: qubs/attachments/0/appointmentId: ('acme', 'A999') names no appointment under "
            "qubs/appointments/*",
        ),
        (
            "decoda:\n  tenants:\n    - name: t3\n      api_key: decoda-third-key\n      notes:\n"
            "        - {id: N1, patientId: P404, createdDate: '2024-01-01T00:00:00Z'}\n",
            "x.yaml:6: decoda/tenants/0/notes/0/patientId: 'P404' names no patient under "
            "decoda/tenants/*/patients/*",
        ),
        (
            "candid:\n  organizations:\n    - organization_id: 11111111-35f6-45a7-b5c3-53ca2ebe8887\n"
            "      name: X\n      attachments:\n        - {attachment_id: 11111111-444d-400b-8c78-d6838c8fabcd,"  # noqa: E501
            " charge_capture_external_id: cc-404,\n           file_name: a.txt, content_type: text/plain,"
            " attachment_type: DOCUMENTATION, content: x}\n",
            "x.yaml:6: candid/organizations/0/attachments/0/charge_capture_external_id: 'cc-404' names no "
            "charge capture under candid/organizations/*/charge_captures/*",
        ),
    ],
    ids=[
        "qubs-token-of-unknown-client",
        "qubs-attachment-of-missing-appointment",
        "decoda-note-of-missing-patient",
        "candid-attachment-of-missing-charge-capture",
    ],
)
def test_references_to_missing_records_are_refused(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "x.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(FixtureError) as refused:
        load_fixtures([DEFAULT_FIXTURES, tmp_path / "x.yaml"], SCHEMAS, RULES)
    assert str(refused.value).replace(str(tmp_path) + "/", "") == message


def test_a_duplicated_id_names_both_places(tmp_path: Path) -> None:
    extra = tmp_path / "x.yaml"
    extra.write_text(
        "qubs:\n  tokens:\n    - {token: qubs-dev-token, clientId: qubs-dev-client, domains: [acme]}\n",
        encoding="utf-8",
    )
    with pytest.raises(FixtureError) as refused:
        load_fixtures([DEFAULT_FIXTURES, extra], SCHEMAS, RULES)
    first = next(p for p in sorted(DEFAULT_FIXTURES.iterdir()) if p.name.startswith("qubs"))
    line = default_line("qubs", "token: qubs-dev-token")
    assert str(refused.value) == (
        f"{extra}:3: qubs/tokens/0/token: duplicate token 'qubs-dev-token' "
        f"(first at {first}:{line}: qubs/tokens/0/token)"
    )


def test_every_problem_is_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.yaml").write_text(
        "qubs:\n  tokens:\n    - {token: t1, clientId: nobody, domains: [acme]}\n"
        "saferme:\n  users:\n    - {id: 99, email: n@example.com, password: p, teams: [999]}\n",
        encoding="utf-8",
    )
    assert main(["validate", "--fixtures", str(DEFAULT_FIXTURES), str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path}/x.yaml:3: qubs/tokens/0/clientId: 'nobody' names no client under qubs/clients/*",
        f"{tmp_path}/x.yaml:6: saferme/users/0/teams: 999 names no team under saferme/teams/*",
    ]


def test_the_default_fixtures_pass() -> None:
    assert set(load_fixtures([DEFAULT_FIXTURES], SCHEMAS, RULES)) >= {"qubs", "decoda", "saferme", "candid"}


def test_an_empty_fixtures_folder_stops_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FixtureError) as refused:
        create_app(Settings(fixtures=(tmp_path,)))
    assert str(refused.value) == f"{tmp_path}: no fixture files (*.yaml, *.yml) in this directory"
    assert main(["serve", "--port", "0", "--fixtures", str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().err == (
        f"mock-server: cannot start: {tmp_path / 'missing'}: no such fixture file or directory\n"
    )
