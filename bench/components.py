"""CPU per call of the parts of QUBS's "create upload URLs" request, in one process (best of 5 timeit runs).

    python bench/components.py            # prints "part<TAB>microseconds" lines

The app is built in-process with the bench fixtures; nothing listens on a socket. The figures are the
parts bench/PROFILE.md names (presigning, ids, parameter and body checks, journal, route resolution, the
log line, JSON encoding); run it before and after a change, with the same load on the machine.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from starlette.applications import Starlette  # noqa: E402
from starlette.datastructures import Headers  # noqa: E402

from bench.run import bench_fixtures  # noqa: E402
from mock_server import logs  # noqa: E402
from mock_server.app import create_app  # noqa: E402
from mock_server.core import jsontext  # noqa: E402
from mock_server.core.journal import Journal  # noqa: E402
from mock_server.core.openapi import validate_parameters  # noqa: E402
from mock_server.middleware import resolve_route  # noqa: E402
from mock_server.settings import Settings  # noqa: E402
from mock_server.vendors.qubs import attachments  # noqa: E402
from mock_server.vendors.qubs.spec import DOCUMENT  # noqa: E402

BASE = "http://127.0.0.1:8080"
PATH = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"
BODY_20 = HERE / "data" / "qubs-attachments-request-20.json"


def best(call: Callable[[], object], number: int) -> float:
    """Microseconds per call: the fastest of 5 timeit runs (the least disturbed by other work)."""
    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-components-") as work:
        log = open(os.devnull, "w")  # noqa: SIM115 - closed below; the line is formatted and written
        logs.configure("text", "info", stream=log)
        settings = Settings(fixtures=(bench_fixtures(Path(work)),), max_records=10**8)
        app = create_app(settings)
        try:
            measure(app)
        finally:
            app.state.sandbox.close()
            log.close()


def measure(app: Starlette) -> None:
    sandbox = app.state.sandbox
    numbers = iter(range(10**9))
    raw = BODY_20.read_bytes()
    items = json.loads(raw)["items"]
    user = {"userId": "bench", "displayName": "Bench"}
    headers = Headers(raw=[(b"host", b"127.0.0.1:8080"), (b"authorization", b"Bearer qubs-dev-token")])
    sources = {"path": {"domain": "acme", "appointmentId": "A123456"}, "query": {}, "header": headers}
    journal = Journal(1000)
    scope = {
        "type": "http",
        "method": "POST",
        "path": PATH,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    logger = logging.getLogger(logs.REQUEST_LOGGER)
    entry = {
        "method": "POST",
        "path": PATH,
        "vendor": "qubs",
        "operation": "qubs.createReportAttachments",
        "correlationId": "0123456789abcdef",
        "status": 201,
        "durationMs": 0.3,
    }
    answer = attachments.create_upload_urls(sandbox, user, "acme", "A123456", items, BASE, 900)

    def presign() -> object:
        key = f"acme/A123456/{next(numbers)}/a0.pdf"
        return sandbox.storage.presign_put(
            BASE, attachments.BUCKET, key, expires_in=900, content_type="application/pdf", max_bytes=2**21
        )

    def record() -> object:
        return journal.record(
            timestamp="2026-12-01T00:00:00.000Z",
            method="POST",
            path=PATH,
            headers=[("host", "127.0.0.1:8080"), ("content-type", "application/json")],
            vendor="qubs",
            status=201,
            response_headers=[("content-type", "application/json")],
            request_body=(b"x" * 101, 101),
            response_body=(b"y" * 700, 700),
        )

    parts = {
        "presign_put (one URL)": (presign, 5000),
        "create_upload_urls (20 items)": (
            lambda: attachments.create_upload_urls(sandbox, user, "acme", "A123456", items, BASE, 900),
            300,
        ),
        "Ids.uuid4": (sandbox.ids.uuid4, 20000),
        "validate_parameters": (
            lambda: validate_parameters(DOCUMENT, "createReportAttachments", sources),
            5000,
        ),
        "jsontext.loads (20 items)": (lambda: jsontext.loads(raw), 2000),
        "Journal.record": (record, 20000),
        "resolve_route": (lambda: resolve_route(app.routes, scope), 20000),
        "log_request": (lambda: logs.log_request(logger, entry), 20000),
        "json.dumps of the 20-item answer": (lambda: json.dumps(answer, ensure_ascii=False).encode(), 2000),
    }
    for name, (call, number) in parts.items():
        print(f"{name}\t{best(call, number):.1f}", flush=True)


if __name__ == "__main__":
    main()
