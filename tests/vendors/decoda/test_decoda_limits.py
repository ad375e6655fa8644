"""Decoda upload caps (configured through the fixtures) and all-or-nothing storage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox
from mock_server.settings import DEFAULT_FIXTURES, Settings
from mock_server.vendors.decoda.models import BUCKET

DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
BOUNDARY = "decodaboundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def stored_state(sandbox: Sandbox) -> tuple[int, int]:
    records = sum(len(sandbox.store.list("decoda", tenant, "attachment")) for tenant in ("demo", "other"))
    return len(sandbox.storage.objects.list(BUCKET)), records


def bulk(
    client: TestClient, validate: Callable[..., Any], body: bytes, headers: dict[str, str] = DEMO
) -> Any:
    response = client.post("/decoda/attachments/bulk", headers={**headers, **MULTIPART}, content=body)
    validate("decoda", "uploadAttachmentsBulk", response)
    return response


class TestLimits:
    """Caps come from the fixtures: a second file overrides ``decoda.limits`` key by key."""

    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        override = tmp_path / "limits.yaml"
        override.write_text(
            "decoda:\n  limits:\n    max_file_bytes: 1000\n    max_request_bytes: 4000\n    max_files: 3\n"
        )
        return Settings(seed=7, fixtures=(DEFAULT_FIXTURES, override))

    @pytest.mark.parametrize(
        ("sizes", "detail"),
        [
            ([10, 1001], "File too large: each attachment may be at most 1000 bytes"),
            ([900, 900, 900, 900, 900], "Request body too large: the limit is 4000 bytes"),
        ],
        ids=["one-file-over-its-cap", "request-over-its-cap"],
    )
    def test_caps_refuse_and_store_nothing(
        self,
        client: TestClient,
        validate_response: Callable[..., Any],
        sandbox: Sandbox,
        sizes: list[int],
        detail: str,
    ) -> None:
        parts = [("patient_id", None, b"P1001")]
        parts += [("attachments", f"f{index}.bin", b"x" * size) for index, size in enumerate(sizes[:3])]
        parts += [("names", None, b"y" * size) for size in sizes[3:]]
        response = bulk(client, validate_response, multipart(parts))
        assert (response.status_code, response.json()) == (413, {"detail": detail})
        assert stored_state(sandbox) == (0, 0)

    def test_declared_length_over_the_cap_is_refused_before_reading(
        self, client: TestClient, validate_response: Callable[..., Any]
    ) -> None:
        headers = {**DEMO, **MULTIPART, "Content-Length": "4001"}
        response = client.post("/decoda/attachments/bulk", headers=headers, content=b"x" * 4001)
        assert validate_response("decoda", "uploadAttachmentsBulk", response) == {
            "detail": "Request body too large: the limit is 4000 bytes"
        }

    def test_too_many_files(self, client: TestClient, validate_response: Callable[..., Any]) -> None:
        parts = [("patient_id", None, b"P1001")] + [("attachments", f"{n}.txt", b"x") for n in range(4)]
        response = bulk(client, validate_response, multipart(parts))
        assert (response.status_code, response.json()) == (
            400,
            {"detail": "Too many files. Maximum number of files is 3."},
        )

    def test_within_the_caps_is_fine(self, client: TestClient, validate_response: Callable[..., Any]) -> None:
        parts = [("patient_id", None, b"P1001")] + [
            ("attachments", f"{n}.bin", b"x" * 1000) for n in range(3)
        ]
        assert bulk(client, validate_response, multipart(parts)).status_code == 200


def test_a_text_field_over_one_mebibyte_is_starlettes_400(
    client: TestClient, validate_response: Callable[..., Any]
) -> None:
    response = bulk(client, validate_response, multipart([("names", None, b"n" * (1024 * 1024 + 1))]))
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "Part exceeded maximum size of 1024KB."},
    )


def test_a_failing_store_leaves_nothing_behind(
    app: Starlette, sandbox: Sandbox, validate_response: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = sandbox.storage.objects
    real_put = objects.put
    calls = {"count": 0}

    def flaky_put(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        if calls["count"] == 3:
            raise RuntimeError("disk full")
        return real_put(*args, **kwargs)

    monkeypatch.setattr(objects, "put", flaky_put)
    parts = [("patient_id", None, b"P1001")] + [("attachments", f"{n}.txt", b"x") for n in range(3)]
    with TestClient(app, base_url="http://127.0.0.1:8080", raise_server_exceptions=False) as client:
        response = bulk(client, validate_response, multipart(parts))
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert response.headers["content-type"].startswith("text/plain")
    assert stored_state(sandbox) == (0, 0)
