"""Listing 10,000 stored items, per list endpoint of every vendor and of the admin API.

In-process (Starlette's TestClient, no sockets). The items are made by real requests where a vendor
creates them (QUBS upload URLs, Candid uploads, Decoda bulk uploads) and put through the vendor's own
model functions where only fixtures would hold them (QUBS appointments, Decoda tags). Then each list
call is timed ``--repeat`` times: *server ms* is the time the app spends from receiving the request to
sending the last body byte (an ASGI wrapper around the app, so the test client's own work is not in it),
*CPU ms* the process CPU time of the whole call. Medians are printed with the load average before and
after, never asserted.

    python bench/listing.py [--items 10000] [--repeat 7] [--only qubs,candid,decoda,admin]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402

from bench.run import bench_fixtures  # noqa: E402
from bench.workloads import (  # noqa: E402
    CANDID_CLIENT,
    CANDID_ENCOUNTER,
    DECODA_HEADERS,
    DECODA_PATIENT,
    QUBS_CREATE,
    QUBS_TOKEN,
    SMALL_FILE,
    candid_upload_spec,
    multipart,
    qubs_items,
)
from mock_server.app import create_app  # noqa: E402
from mock_server.core import gc_policy  # noqa: E402
from mock_server.settings import Settings  # noqa: E402

QUBS_AUTH = {"Authorization": f"Bearer {QUBS_TOKEN}"}
QUBS_BASE = "/qubs/integrations/v1/acme"
DECODA_PER_REQUEST = 50
DECODA_PER_DAY = 100


class Timed:
    """ASGI wrapper: seconds from the call to the last ``http.response.body`` message, per request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - started

        await self.app(scope, receive, timed_send)


@dataclass
class Case:
    vendor: str
    label: str
    path: str
    headers: dict[str, str]
    count: Callable[[Any], int]


def _items(data: Any) -> int:
    if isinstance(data, list):
        return len(data)
    for key in ("items", "data", "requests", "objects", "sessions", "rules"):
        if isinstance(data.get(key), list):
            return len(data[key])
    return 0


def seed_qubs(client: TestClient, items: int) -> list[Case]:
    from mock_server.vendors.qubs import models

    for _ in range(items // 20):
        answer = client.post(QUBS_CREATE, json=qubs_items(20), headers=QUBS_AUTH)
        assert answer.status_code == 201, answer.text[:300]
    sandbox = client.app.app.state.sandbox
    template = models.appointment(sandbox, "acme", "A123456")
    for n in range(items):
        record = {**template, "appointmentId": f"B{n:07d}"}
        sandbox.store.put("qubs", "acme", "appointment", record["appointmentId"], record)
    return [
        Case(
            "qubs",
            "QUBS listPendingAppointments",
            f"{QUBS_BASE}/reporting/appointments/pending",
            QUBS_AUTH,
            _items,
        ),
        Case(
            "qubs",
            "QUBS listReportingAttachments",
            f"{QUBS_BASE}/reporting/appointments/A123456/attachments",
            QUBS_AUTH,
            _items,
        ),
        Case(
            "qubs",
            "QUBS listAppointmentAttachments",
            f"{QUBS_BASE}/appointments/A123456/attachments",
            QUBS_AUTH,
            _items,
        ),
    ]


def seed_candid(client: TestClient, items: int) -> list[Case]:
    token = client.post("/candid/api/auth/v2/token", json=CANDID_CLIENT).json()["access_token"]
    spec = candid_upload_spec(token, SMALL_FILE)
    for _ in range(items):
        answer = client.request(spec.method, spec.path, headers=spec.headers, content=spec.body)
        assert answer.status_code in spec.expect, answer.text[:300]
    auth = {"Authorization": f"Bearer {token}"}
    return [
        Case(
            "candid",
            "Candid getEncounterAttachments",
            f"/candid/api/encounter-attachments/v1/{CANDID_ENCOUNTER}",
            auth,
            _items,
        )
    ]


def seed_decoda(client: TestClient, items: int) -> list[Case]:
    from mock_server.vendors.decoda import tags

    sandbox = client.app.app.state.sandbox
    files = [("attachments", f"n{i}.pdf", "application/pdf", SMALL_FILE) for i in range(DECODA_PER_REQUEST)]
    body, content_type = multipart([("patient_id", DECODA_PATIENT)], files)
    headers = {**DECODA_HEADERS, "Content-Type": content_type}
    for n in range(items // DECODA_PER_REQUEST):
        if n and n * DECODA_PER_REQUEST % DECODA_PER_DAY == 0:
            sandbox.clock.advance(86_400)  # spread the uploads over days: Decoda pages by day
        answer = client.post("/decoda/attachments/bulk", headers=headers, content=body)
        assert answer.status_code in (200, 201), answer.text[:300]
    for n in range(items):
        tags.create(sandbox, "demo", f"tag-{n:05d}", "#336699")
    return [
        Case(
            "decoda",
            "Decoda listAttachments (day page)",
            f"/decoda/attachments?tz=UTC&patient_id={DECODA_PATIENT}",
            DECODA_HEADERS,
            _items,
        ),
        Case("decoda", "Decoda getAttachmentTags", "/decoda/attachments/tags", DECODA_HEADERS, _items),
    ]


def admin_cases(client: TestClient, items: int) -> list[Case]:
    sandbox = client.app.app.state.sandbox
    while len(sandbox.journal) < items:  # fill the journal with cheap vendor reads
        client.get(f"{QUBS_BASE}/reporting/appointments/A123456", headers=QUBS_AUTH)
    return [
        Case("admin", "admin listRequests", "/__admin/requests", {}, _items),
        Case("admin", "admin listRequests (summary)", "/__admin/requests?view=summary", {}, _items),
        Case("admin", "admin listObjects", "/__admin/objects", {}, _items),
        Case("admin", "admin listSessions", "/__admin/sessions", {}, _items),
        Case("admin", "admin listScenarios", "/__admin/scenarios", {}, _items),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--only", default="qubs,candid,decoda,admin")
    a = ap.parse_args()
    chosen = set(a.only.split(","))
    with tempfile.TemporaryDirectory() as work:
        settings = Settings(
            fixtures=(bench_fixtures(Path(work)),),
            journal_size=a.items,
            max_objects=4 * a.items,
            max_records=20 * a.items,
        )
        app = create_app(settings)
        gc_policy.install(app.state.sandbox.clock)  # as ``mock-server serve`` does
        timed = Timed(app)
        client = TestClient(timed, base_url="http://127.0.0.1:8080")
        started = time.perf_counter()
        cases: list[Case] = []
        for vendor, seed in (("qubs", seed_qubs), ("decoda", seed_decoda), ("candid", seed_candid)):
            if vendor in chosen:
                cases += seed(client, a.items)
        if "admin" in chosen:
            cases += admin_cases(client, a.items)
        print(f"seeded {a.items} items per list in {time.perf_counter() - started:.0f} s")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("| call | status | items in the answer | body | median server ms | median CPU ms |")
        print("|---|---|---|---|---|---|")
        for case in cases:
            server: list[float] = []
            cpu: list[float] = []
            for _ in range(a.repeat):
                started_cpu = time.process_time()
                answer = client.get(case.path, headers=case.headers)
                cpu.append((time.process_time() - started_cpu) * 1000)
                server.append(timed.last * 1000)
            count = case.count(answer.json()) if answer.status_code == 200 else 0
            print(
                f"| {case.label} | {answer.status_code} | {count} | {len(answer.content) / 1e3:.0f} kB "
                f"| {statistics.median(server):.1f} | {statistics.median(cpu):.1f} |"
            )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
