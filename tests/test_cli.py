from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from mock_server.cli import main
from mock_server.settings import OPTIONS, SettingError, Settings


def test_every_option_has_a_flag_and_an_env_var_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    text = capsys.readouterr().out
    for option in OPTIONS:
        assert option.flag in text and option.env in text


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Settings] = []
    monkeypatch.setattr("mock_server.cli.serve", lambda settings: seen.append(settings) or 0)
    monkeypatch.setenv("MOCK_SERVER_PORT", "7000")
    monkeypatch.setenv("MOCK_SERVER_PUBLIC_URL", "http://x:1")
    assert main(["serve", "--port", "9001"]) == 0
    assert (seen[0].port, seen[0].public_url) == (9001, "http://x:1")


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"MOCK_SERVER_PORT": "abc"}, "MOCK_SERVER_PORT='abc': 'abc' is not a valid integer range."),
        ({"MOCK_SERVER_PORT": "70000"}, "MOCK_SERVER_PORT='70000': 70000 is not in the range 0<=x<=65535."),
        (
            {"MOCK_SERVER_DEFAULT_SCENARIOS": "maybe"},
            "MOCK_SERVER_DEFAULT_SCENARIOS='maybe': 'maybe' is not a valid boolean. Recognized values: , "
            "0, 1, "
            "f, false, n, no, off, on, t, true, y, yes",
        ),
    ],
    ids=["port-not-a-number", "port-out-of-range", "bool-maybe"],
)
def test_settings_from_env_refuses_bad_values(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingError) as refused:
        Settings.from_env(environ)
    assert str(refused.value) == message


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


BAD_SETTINGS = [
    (
        ["serve"],
        {"MOCK_SERVER_PORT": "abc"},
        "mock-server serve: error: Invalid value for '--port' (env var: 'MOCK_SERVER_PORT'): 'abc' is not a "
        "valid integer range. (see mock-server serve --help)",
    ),
    (
        ["serve", "--port", "70000"],
        {},
        "mock-server serve: error: Invalid value for '--port' (env var: 'MOCK_SERVER_PORT'): 70000 is not in "
        "the range 0<=x<=65535. (see mock-server serve --help)",
    ),
    (
        ["serve", "--default-scenarios", "maybe"],
        {},
        "mock-server serve: error: Invalid value for '--default-scenarios' (env var: "
        "'MOCK_SERVER_DEFAULT_SCENARIOS'): 'maybe' is not a valid boolean. Recognized values: , 0, 1, "
        "f, false, n, no, off, on, t, true, y, yes (see mock-server serve --help)",
    ),
    (
        ["serve", "--log-format", "xml"],
        {},
        "mock-server serve: error: Invalid value for '--log-format' (env var: 'MOCK_SERVER_LOG_FORMAT'): "
        "'xml' is not one of 'text', 'json'. (see mock-server serve --help)",
    ),
    (
        ["serve", "--public-url", "localhost:8080"],
        {},
        "mock-server serve: error: Invalid value for '--public-url' (env var: 'MOCK_SERVER_PUBLIC_URL'): "
        "'localhost:8080' is not an absolute http:// or https:// URL (see mock-server serve --help)",
    ),
    (["launch"], {}, "mock-server: error: No such command 'launch'. (see mock-server --help)"),
]


@pytest.mark.parametrize(
    "argv, environ, message",
    BAD_SETTINGS,
    ids=["env-port-abc", "port-70000", "default-scenarios-maybe", "log-format-xml", "public-url", "command"],
)
def test_bad_settings_are_one_line_exit_two_without_traceback(
    argv: list[str], environ: dict[str, str], message: str
) -> None:
    """The installed command, as a user runs it: exit 2, one line on stderr, nothing on stdout."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MOCK_SERVER_")}
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", *argv],
        env={**env, **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message + "\n")


@pytest.mark.parametrize("argv", [["serve", "--help"], ["--version"], ["version"], ["validate", "--help"]])
def test_help_and_version_exit_zero_without_traceback(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", *argv], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr == ""
    assert "Traceback" not in result.stdout
    if argv[0] == "serve":
        # defaults and allowed values are shown
        assert "default: 8080; 0<=x<=65535" in result.stdout and "[text|json]" in result.stdout
    elif "version" in argv[0]:
        assert re.fullmatch(r"\d+\.\d+\.\d+\n", result.stdout)
