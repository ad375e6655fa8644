"""What a session costs: create + delete time through the admin API, and the memory of 100 live sessions.

    python bench/sessions.py [--rounds 60] [--live 100]

In-process (Starlette's TestClient, no sockets), so the figures are the server's own work: building a
session's sandbox (clock, ids, stores, journal, its own moto account and buckets, the default fixtures
loaded, its scenario engine) and tearing it down. Memory is the process's resident set (RSS) growth
and Python's own allocations (tracemalloc) with ``--live`` sessions alive, each with its fixtures.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from pathlib import Path

from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.settings import Settings


def rss_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--live", type=int, default=100)
    args = parser.parse_args()
    app = create_app(Settings(seed=1, max_sessions=args.live + 1))
    client = TestClient(app, base_url="http://127.0.0.1:8080")
    for _ in range(5):  # warm-up: imports, moto's first account, caches
        name = client.post("/__admin/sessions").json()["name"]
        client.delete(f"/__admin/sessions/{name}")

    create_ms, delete_ms, both_ms = [], [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        name = client.post("/__admin/sessions").json()["name"]
        created = time.perf_counter()
        assert client.delete(f"/__admin/sessions/{name}").status_code == 204
        deleted = time.perf_counter()
        create_ms.append((created - started) * 1000)
        delete_ms.append((deleted - created) * 1000)
        both_ms.append((deleted - started) * 1000)

    gc.collect()
    rss_before = rss_bytes()
    tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0]
    names = [client.post("/__admin/sessions").json()["name"] for _ in range(args.live)]
    gc.collect()
    traced_after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rss_after = rss_bytes()
    for name in names:
        client.delete(f"/__admin/sessions/{name}")

    def row(label: str, values: list[float]) -> str:
        spread = f"{min(values):.2f}–{max(values):.2f}"
        return f"| {label} | {statistics.median(values):.2f} | {spread} | {len(values)} |"

    print("| what | median ms | min–max ms | runs |")
    print("|---|---|---|---|")
    print(row("POST /__admin/sessions", create_ms))
    print(row("DELETE /__admin/sessions/{name}", delete_ms))
    print(row("create + delete", both_ms))
    mib = 1024 * 1024
    print()
    print(f"{args.live} live sessions: RSS +{(rss_after - rss_before) / mib:.1f} MiB, ", end="")
    print(f"Python allocations +{(traced_after - traced_before) / mib:.1f} MiB (tracemalloc)")
    app.state.sessions.close()
    app.state.sandbox.close()


if __name__ == "__main__":
    main()
