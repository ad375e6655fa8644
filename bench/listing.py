"""Listing 10,000 stored items: QUBS attachments of one appointment, made by real requests.

In-process (Starlette's TestClient, no sockets): 500 create calls of 20 items each, then the
list calls timed. CPU ms is the process's CPU time for the call (steadier than wall time on a shared
machine). Printed, never asserted.

    python bench/listing.py [--items 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from starlette.testclient import TestClient  # noqa: E402
from workloads import QUBS_CREATE, QUBS_TOKEN, qubs_items  # noqa: E402

from mock_server.app import create_app  # noqa: E402

AUTH = {"Authorization": f"Bearer {QUBS_TOKEN}"}
LISTS = {
    "QUBS listReportingAttachments": QUBS_CREATE.removesuffix("/report/attachments") + "/attachments",
    "QUBS listAppointmentAttachments": QUBS_CREATE.replace("/reporting/", "/").removesuffix(
        "/report/attachments"
    )
    + "/attachments",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    client = TestClient(create_app(), base_url="http://127.0.0.1:8080")
    body = qubs_items(20)
    for _ in range(a.items // 20):
        answer = client.post(QUBS_CREATE, json=body, headers=AUTH)
        assert answer.status_code == 201, answer.text[:300]
    for label, path in LISTS.items():
        cpu: list[float] = []
        wall: list[float] = []
        count = 0
        for _ in range(a.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            answer = client.get(path, headers=AUTH)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            data = answer.json()
            items = (
                data
                if isinstance(data, list)
                else next((v for v in data.values() if isinstance(v, list)), [])
            )
            count = len(items)
        print(
            f"{label} ({answer.status_code}, {count} items, {len(answer.content) / 1e6:.1f} MB): "
            f"median {statistics.median(wall):.1f} ms wall, {statistics.median(cpu):.1f} ms CPU"
        )


if __name__ == "__main__":
    main()
