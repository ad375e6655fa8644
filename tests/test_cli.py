from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from mock_server.cli import build_parser, main, settings_from
from mock_server.settings import OPTIONS, Settings


def test_every_option_has_a_flag_and_an_env_var_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = capsys.readouterr().out
    for option in OPTIONS:
        assert option.flag in text and option.env in text


def test_flags_override_environment() -> None:
    args = build_parser().parse_args(["serve", "--port", "9001"])
    settings = settings_from(args, {"MOCK_SERVER_PORT": "7000", "MOCK_SERVER_PUBLIC_URL": "http://x:1"})
    assert (settings.port, settings.public_url) == (9001, "http://x:1")


def test_settings_from_env_is_pure() -> None:
    settings = Settings.from_env(
        {
            "MOCK_SERVER_SEED": "5",
            "MOCK_SERVER_DEFAULT_SCENARIOS": "false",
            "MOCK_SERVER_FIXTURES": f"/a{os.pathsep}/b",
        }
    )
    assert settings.seed == 5 and settings.default_scenarios is False
    assert settings.fixtures == (Path("/a"), Path("/b"))


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert re.fullmatch(r"\d+\.\d+\.\d+\n", capsys.readouterr().out)


def test_broken_fixtures_fail_at_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("storage:\n  buckets: [Not_A_Bucket]\n", encoding="utf-8")
    assert main(["serve", "--fixtures", str(broken), "--port", "0"]) == 1
    message = capsys.readouterr().err
    assert "broken.yaml" in message and "storage/buckets/0" in message


def test_serve_starts_and_answers_health(tmp_path: Path) -> None:
    """`python -m mock_server serve` on a free port: banner, then a healthy server, then a clean stop."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MOCK_SERVER_LOG_LEVEL": "warning"},
    )
    try:
        assert process.stderr is not None
        first_line = process.stderr.readline()
        port = int(re.search(r"listening on http://127\.0\.0\.1:(\d+)", first_line).group(1))  # type: ignore[union-attr]
        # The socket listens before the banner is printed, so the first request queues until ready.
        response = requests.get(f"http://127.0.0.1:{port}/__admin/health", timeout=30)
        assert response.status_code == 200
    finally:
        process.terminate()
        _, remaining = process.communicate(timeout=20)
    assert process.returncode == 0, remaining
    assert "stopped" in remaining
