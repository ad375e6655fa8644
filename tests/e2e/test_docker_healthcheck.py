"""``python -m mock_server.healthcheck`` (the image's HEALTHCHECK and the GitLab recipe's wait step)."""

from __future__ import annotations

import socket

import pytest

from mock_server import healthcheck
from mock_server.testing.server import LiveServer


@pytest.mark.parametrize(
    "environ, url",
    [
        ({}, "http://127.0.0.1:8080/__admin/health"),
        ({"MOCK_SERVER_HOST": "0.0.0.0", "MOCK_SERVER_PORT": "9000"}, "http://127.0.0.1:9000/__admin/health"),
        ({"MOCK_SERVER_HOST": "::"}, "http://[::1]:8080/__admin/health"),
        ({"MOCK_SERVER_HOST": "10.1.2.3", "MOCK_SERVER_PORT": "81"}, "http://10.1.2.3:81/__admin/health"),
    ],
    ids=["defaults", "image", "ipv6-wildcard", "specific-interface"],
)
def test_default_url_follows_the_server_settings(environ: dict[str, str], url: str) -> None:
    assert healthcheck.default_url(environ) == url


def test_healthy_server_exits_zero(live: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert healthcheck.main(["--url", live.url + "/__admin/health"]) == 0
    assert capsys.readouterr().out.startswith("healthy: vendor-sandbox")


def test_settings_environment_is_used_without_url(live: LiveServer) -> None:
    assert healthcheck.main([], environ={"MOCK_SERVER_PORT": str(live.port)}) == 0


def _refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/__admin/health"


@pytest.mark.parametrize(
    "path, reason",
    [(None, "refused"), ("/__admin/nothing-here", "answered 404"), ("/__admin/clock", "answered {")],
    ids=["nothing-listening", "error-status", "not-a-health-body"],
)
def test_unhealthy_exits_one(
    live: LiveServer, capsys: pytest.CaptureFixture[str], path: str | None, reason: str
) -> None:
    url = _refused_url() if path is None else live.url + path
    assert healthcheck.main(["--url", url, "--timeout", "2"]) == 1
    message = capsys.readouterr().err
    assert message.startswith("unhealthy:") and reason in message
