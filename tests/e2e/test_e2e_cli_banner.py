"""``mock-server serve``'s start-up banner and the exit codes CI relies on."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.app import available_vendors
from mock_server.cli import banner, describe, main
from mock_server.settings import Settings

VENDORS = available_vendors()


def test_banner_lists_vendors_paths_credentials_and_admin() -> None:
    text = banner(Settings(), 8123, VENDORS, ["sandbox-uploads"])
    assert text.splitlines()[0] == "vendor-sandbox 0.1.0 listening on http://127.0.0.1:8123"
    for name, vendor in VENDORS.items():
        for prefix in vendor.mount_table():
            assert f"http://127.0.0.1:8123{prefix}" in text
        if vendor.openapi_path:
            assert f"openapi http://127.0.0.1:8123/{name}/openapi.json" in text
        for credential in vendor.credentials:
            assert credential in text
    assert "S3 access key AKIASANDBOX000000001 / secret sandbox/secret/key/do-not-use-in-production" in text
    assert "bucket(s) for your own presigned URLs: sandbox-uploads" in text
    assert "admin    http://127.0.0.1:8123/__admin/" in text
    assert "in-flight requests get 10s" in text
    names = [
        line.split()[0]
        for line in text.splitlines()[2:]
        if line.startswith("  ") and not line.startswith("   ")
    ]
    assert names[-3:] == ["storage", "admin", "index"]  # vendors first


def test_banner_on_all_interfaces_shows_a_reachable_url() -> None:
    text = banner(Settings(host="0.0.0.0"), 8080, VENDORS)
    assert "listening on http://0.0.0.0:8080" in text and "http://127.0.0.1:8080/qubs" in text


def test_banner_uses_the_public_url_when_set() -> None:
    text = banner(Settings(public_url="https://sandbox.example.test/"), 8080, VENDORS)
    assert "https://sandbox.example.test/qubs" in text and "caller's" not in text


def test_a_secret_given_by_environment_is_not_echoed() -> None:
    info = describe(Settings(s3_secret_access_key="real-looking-secret"), 8080, VENDORS)
    text = json.dumps(info)
    assert "real-looking-secret" not in text and "MOCK_SERVER_S3_SECRET_ACCESS_KEY" in text


@pytest.fixture
def restore_logging() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("mock_server", "uvicorn")]
    saved = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


@pytest.mark.usefixtures("restore_logging")
def test_port_in_use_is_exit_code_one(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        assert main(["serve", "--port", str(busy.getsockname()[1])]) == 1
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["version"], 0, ""),
        (["serve", "--log-format", "xml"], 2, "'xml' is not one of 'text', 'json'."),
        (["serve", "--log-level", "loud"], 2, "'loud' is not one of 'debug', 'info', 'warning', 'error'."),
        (["serve", "--port", "eighty"], 2, "'eighty' is not a valid integer range."),
        (["launch"], 2, "No such command 'launch'."),
    ],
    ids=["version", "bad-log-format", "bad-log-level", "bad-flag-value", "unknown-command"],
)
def test_exit_codes(argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        result = main(argv)
    except SystemExit as exit_:
        result = exit_.code  # type: ignore[assignment]
    assert result == code
    assert message in capsys.readouterr().err


def test_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = Path(__file__).resolve().parents[2] / "scenarios"
    files = sorted(good.glob("*.yaml"))[:2]
    assert files and main(["validate", *map(str, files)]) == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text("scenarios:\n  - name: x\n", encoding="utf-8")
    assert main(["validate", str(broken)]) == 1
    assert "broken.yaml" in capsys.readouterr().err
