"""The requests put under load, one per vendor operation, with the default sandbox credentials.

Each workload builds its ``RequestSpec`` against a running server (fetching a token first where the
vendor needs one) and checks it once: a vendor that is not mounted, or a request that does not get
its documented success status, is skipped with the reason. Credentials and ids are those of the
default fixtures (fixtures/*.yaml, listed in the README).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import requests

from bench.load import RequestSpec

QUBS_TOKEN = "qubs-dev-token"
QUBS_CREATE = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"
CANDID_CLIENT = {"client_id": "candid-dev-client", "client_secret": "candid-dev-secret"}
CANDID_ENCOUNTER = "d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"
CANDID_CREATE = f"/candid/api/encounter-attachments/v1/{CANDID_ENCOUNTER}/v2"
SAFERME_HEADERS = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "bench-installation",
}
SAFERME_AUTHORIZE = "/saferme/api/v4/file_attachments/upload_authorization?content_type=image%2Fjpeg"
DECODA_HEADERS = {"API-KEY": "decoda-dev-key", "TENANT": "demo"}
DECODA_PATIENT = "P1001"
SMALL_FILE = b"%PDF-1.4\n% bench attachment\n" + b"0" * 994 + b"\n%%EOF\n"  # 1 KiB


class Skip(Exception):
    """The workload cannot run against this server; the message says why."""


@dataclass(frozen=True)
class Workload:
    key: str
    vendor: str
    label: str
    build: Callable[[str, requests.Session], RequestSpec]


def multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type, built once and sent as-is by the load tools."""
    boundary = "bench" + uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, value in fields:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, file_name, content_type, data in files:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def probe(base_url: str, session: requests.Session, spec: RequestSpec) -> requests.Response:
    """Send ``spec`` once. Raises: Skip when the answer is not one of the expected statuses."""
    response = session.request(
        spec.method, base_url + spec.path, headers=spec.headers, data=spec.body or None, timeout=30
    )
    if response.status_code not in spec.expect:
        raise Skip(
            f"{spec.method} {spec.path.split('?')[0]} answered {response.status_code}: "
            f"{response.text[:240]!r}"
        )
    return response


def json_spec(
    method: str, path: str, body: object, headers: dict[str, str], expect: tuple[int, ...]
) -> RequestSpec:
    return RequestSpec(
        method, path, {"Content-Type": "application/json", **headers}, json.dumps(body).encode(), expect
    )


# --------------------------------------------------------------------------------- QUBS
def qubs_items(count: int) -> dict[str, object]:
    return {
        "items": [
            {"fileName": f"report-{i}.pdf", "category": "report", "contentType": "application/pdf"}
            for i in range(count)
        ]
    }


def qubs_create(count: int) -> Callable[[str, requests.Session], RequestSpec]:
    def build(base_url: str, session: requests.Session) -> RequestSpec:
        spec = json_spec(
            "POST", QUBS_CREATE, qubs_items(count), {"Authorization": f"Bearer {QUBS_TOKEN}"}, (201,)
        )
        probe(base_url, session, spec)
        return spec

    return build


# --------------------------------------------------------------------------------- Candid
def candid_token_spec() -> RequestSpec:
    return json_spec("POST", "/candid/api/auth/v2/token", CANDID_CLIENT, {}, (200,))


def candid_token(base_url: str, session: requests.Session) -> RequestSpec:
    spec = candid_token_spec()
    probe(base_url, session, spec)
    return spec


def candid_access_token(base_url: str, session: requests.Session) -> str:
    return probe(base_url, session, candid_token_spec()).json()["access_token"]


def candid_upload_spec(token: str, data: bytes, file_name: str = "note.pdf") -> RequestSpec:
    body, content_type = multipart(
        [("attachment_type", "DOCUMENTATION"), ("description", "bench upload")],
        [("attachment_file", file_name, "application/pdf", data)],
    )
    return RequestSpec(
        "PUT",
        CANDID_CREATE,
        {"Authorization": f"Bearer {token}", "Content-Type": content_type},
        body,
        (200, 201),
    )


def candid_create(base_url: str, session: requests.Session) -> RequestSpec:
    spec = candid_upload_spec(candid_access_token(base_url, session), SMALL_FILE)
    probe(base_url, session, spec)
    return spec


# --------------------------------------------------------------------------------- SaferMe
def saferme_authorize(base_url: str, session: requests.Session) -> RequestSpec:
    spec = RequestSpec("GET", SAFERME_AUTHORIZE, dict(SAFERME_HEADERS), b"", (200,))
    probe(base_url, session, spec)
    return spec


# --------------------------------------------------------------------------------- Decoda
def decoda_bulk(base_url: str, session: requests.Session) -> RequestSpec:
    body, content_type = multipart(
        [("patient_id", DECODA_PATIENT)],
        [("attachments", "note.pdf", "application/pdf", SMALL_FILE)],
    )
    spec = RequestSpec(
        "POST", "/decoda/attachments/bulk", {**DECODA_HEADERS, "Content-Type": content_type}, body, (200, 201)
    )
    probe(base_url, session, spec)
    return spec


WORKLOADS = (
    Workload("qubs-create-1", "qubs", "QUBS create upload URLs, 1 item", qubs_create(1)),
    Workload("qubs-create-20", "qubs", "QUBS create upload URLs, 20 items", qubs_create(20)),
    Workload("saferme-authorize", "saferme", "SaferMe upload authorization", saferme_authorize),
    Workload("candid-token", "candid", "Candid OAuth token", candid_token),
    Workload("candid-create", "candid", "Candid create attachment (1 KiB multipart)", candid_create),
    Workload("decoda-bulk", "decoda", "Decoda bulk upload, one 1 KiB file", decoda_bulk),
)
