"""Soak: RSS and latency of one long-running server over many mixed requests, sampled in windows.

    python bench/soak.py                      # 100,000 requests (tens of minutes on a shared 2-core machine)
    python bench/soak.py --requests 20000     # shorter
    python bench/soak.py --requests 50000 --window 5000   # p50/p99 per 5,000 requests: is p99 flat?
    python bench/soak.py --requests 50000 --window 5000 --gc-log   # plus the server's GC pauses per window
    python bench/soak.py --max-seconds 900    # stop early (the figures say so) after this long
    python bench/soak.py --server-args "--max-records 20000 --max-objects 2000"   # smaller caps

The server is ``mock-server serve`` with its default limits (``--fixtures``: the defaults with Candid's
rate limit off, as in bench/run.py), never reset. The mix, in turn from 4 client threads on keep-alive
connections: QUBS create upload URL (a fresh Idempotency-Key each time) and the presigned PUT of 1 KiB to
it, QUBS comment (fresh key), SaferMe upload authorization, Candid token, Candid create attachment
(1 KiB), Decoda bulk upload (1 KiB), admin journal read, QUBS reporting attachment list (first page),
admin object list (first page). Every request is counted, whatever its status; statuses are summed per
window, so a cap being reached shows as its 507s. Each window also gives the client-side p50 and p99 of
its requests and the load average at its end. 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import workloads  # noqa: E402
from bench.run import bench_fixtures  # noqa: E402
from bench.server import Server  # noqa: E402

SAMPLE_EVERY = 2_000
QUBS_LIST = "/qubs/integrations/v1/acme/reporting/appointments/A123456/attachments"
THREADS = 4


class Mix:
    """The request kinds, each one function ``(session) -> [status, ...]`` (one or two requests)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.keys = itertools.count()
        setup = requests.Session()
        self.token = workloads.candid_access_token(url, setup)
        self.candid = workloads.candid_upload_spec(self.token, workloads.SMALL_FILE)
        self.decoda = workloads.decoda_bulk(url, setup)
        self.kinds: list[Callable[[requests.Session], list[int]]] = [
            self.qubs_upload,
            self.qubs_comment,
            self.saferme,
            self.candid_token,
            self.candid_create,
            self.decoda_upload,
            self.journal,
            self.qubs_list,
            self.objects,
        ]

    def _key(self) -> str:
        return f"soak-{next(self.keys)}"

    def qubs_upload(self, s: requests.Session) -> list[int]:
        created = s.post(
            self.url + workloads.QUBS_CREATE,
            json=workloads.qubs_items(1),
            headers={"Authorization": f"Bearer {workloads.QUBS_TOKEN}", "Idempotency-Key": self._key()},
            timeout=30,
        )
        if created.status_code != 201:
            return [created.status_code]
        item = created.json()["items"][0]
        put = s.put(
            item["uploadUrl"],
            data=workloads.SMALL_FILE,
            headers={"Content-Type": item.get("contentType") or "application/pdf"},
            timeout=30,
        )
        return [created.status_code, put.status_code]

    def qubs_comment(self, s: requests.Session) -> list[int]:
        path = "/qubs/integrations/v1/acme/reporting/appointments/A123456/comments"
        headers = {"Authorization": f"Bearer {workloads.QUBS_TOKEN}", "Idempotency-Key": self._key()}
        return [
            s.post(self.url + path, json={"commentText": "soak"}, headers=headers, timeout=30).status_code
        ]

    def saferme(self, s: requests.Session) -> list[int]:
        return [
            s.get(
                self.url + workloads.SAFERME_AUTHORIZE, headers=workloads.SAFERME_HEADERS, timeout=30
            ).status_code
        ]

    def candid_token(self, s: requests.Session) -> list[int]:
        return [
            s.post(
                self.url + "/candid/api/auth/v2/token", json=workloads.CANDID_CLIENT, timeout=30
            ).status_code
        ]

    def candid_create(self, s: requests.Session) -> list[int]:
        spec = self.candid
        return [s.put(self.url + spec.path, data=spec.body, headers=spec.headers, timeout=30).status_code]

    def decoda_upload(self, s: requests.Session) -> list[int]:
        spec = self.decoda
        return [s.post(self.url + spec.path, data=spec.body, headers=spec.headers, timeout=30).status_code]

    def journal(self, s: requests.Session) -> list[int]:
        return [s.get(self.url + "/__admin/requests?limit=5", timeout=30).status_code]

    def qubs_list(self, s: requests.Session) -> list[int]:
        headers = {"Authorization": f"Bearer {workloads.QUBS_TOKEN}"}
        return [s.get(self.url + QUBS_LIST, headers=headers, timeout=30).status_code]

    def objects(self, s: requests.Session) -> list[int]:
        return [s.get(self.url + "/__admin/objects", timeout=30).status_code]


class TimedSession(requests.Session):
    """A session that appends the wall time of each request (ms) to ``latencies``."""

    def __init__(self, latencies: list[float]) -> None:
        super().__init__()
        self.latencies = latencies

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        started = time.perf_counter()
        try:
            return super().request(*args, **kwargs)
        finally:
            self.latencies.append((time.perf_counter() - started) * 1000)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def soak(
    server: Server, total: int, max_seconds: float, window: int
) -> tuple[list[tuple], float, float, bool]:
    mix = Mix(server.url)
    lock = threading.Lock()
    state = {"done": 0, "next_sample": window, "stop": False}
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    samples: list[tuple] = [(0, server.rss_mb(), 0.0, 0.0, 0.0, os.getloadavg()[0], "")]
    started = time.monotonic()
    kinds = itertools.cycle(mix.kinds)

    def worker() -> None:
        mine: list[float] = []
        session = TimedSession(mine)
        while True:
            with lock:
                if state["stop"] or state["done"] >= total:
                    return
                kind = next(kinds)
            try:
                got = kind(session)
            except requests.RequestException:
                got = [0]
            with lock:
                latencies.extend(mine)
                mine.clear()
                state["done"] += len(got)
                statuses.update(got)
                if state["done"] >= state["next_sample"]:
                    state["next_sample"] += window
                    shown = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
                    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
                    elapsed, load = time.monotonic() - started, os.getloadavg()[0]
                    samples.append((state["done"], server.rss_mb(), elapsed, p50, p99, load, shown))
                    statuses.clear()
                    latencies.clear()
                if time.monotonic() - started > max_seconds:
                    state["stop"] = True

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, started, time.monotonic() - started, bool(state["stop"])


def read_gc_log(path: Path) -> list[tuple[float, int, float, float]]:
    """(monotonic time, generation, pause ms, CPU ms) per line that bench/gc_trace.py wrote."""
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines()]
    return [(float(at), int(gen), float(ms), float(cpu)) for at, gen, ms, _, cpu in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000, help="requests to send (default 100,000)")
    parser.add_argument(
        "--max-seconds", type=float, default=3600.0, help="stop after this long (default 1 h)"
    )
    parser.add_argument("--server-args", default="", help="extra `mock-server serve` flags (smaller caps)")
    parser.add_argument(
        "--gc-log",
        action="store_true",
        help="run the server under bench/gc_trace.py and add its GC pauses to each window",
    )
    parser.add_argument(
        "--window", type=int, default=SAMPLE_EVERY, help=f"requests per sample (default {SAMPLE_EVERY:,})"
    )
    a = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    server_args = ["--fixtures", str(bench_fixtures(work)), "--log-level", "warning", *a.server_args.split()]
    gc_log = work / "gc.log"
    python_args = [str(ROOT / "bench" / "gc_trace.py"), str(gc_log)] if a.gc_log else None
    server = Server.launch(ROOT, sys.executable, server_args, work / "server.log", python_args=python_args)
    try:
        samples, started, seconds, stopped = soak(server, a.requests, a.max_seconds, a.window)
    finally:
        server.stop()
    pauses = read_gc_log(gc_log) if a.gc_log else []
    done = samples[-1][0]
    print(
        f"## Soak: {done} mixed requests in {seconds:.0f} s ({done / seconds:.0f} req/s), RSS every "
        f"{a.window} requests" + (f" (stopped at --max-seconds {a.max_seconds:g})" if stopped else "")
    )
    print()
    print(f"server flags: `{' '.join(server_args[2:])}`")
    print()
    gc_head = " full GCs | longest full GC ms (CPU ms) | GC CPU ms (all logged) |" if a.gc_log else ""
    print(f"| requests | RSS MB | elapsed s | p50 ms | p99 ms | load avg |{gc_head} statuses |")
    print("|---|---|---|---|---|---|" + ("---|---|---|" if a.gc_log else "") + "---|")
    previous = 0.0
    for count, rss, elapsed, p50, p99, load, shown in samples:
        cells = ""
        if a.gc_log:
            mine = [p for p in pauses if started + previous < p[0] <= started + elapsed]
            full = max((p for p in mine if p[1] == 2), key=lambda p: p[2], default=(0, 2, 0.0, 0.0))
            fulls = sum(1 for p in mine if p[1] == 2)
            cells = f" {fulls} | {full[2]:.1f} ({full[3]:.1f}) | {sum(p[3] for p in mine):.0f} |"
        previous = elapsed
        print(
            f"| {count} | {rss:.1f} | {elapsed:.0f} | {p50:.1f} | {p99:.1f} | {load:.2f} |{cells} {shown} |"
        )
    first = next((s for s in samples if s[0] >= 10_000), samples[0])
    print()
    print(
        f"RSS {samples[0][1]:.1f} MB idle, {first[1]:.1f} MB after {first[0]} requests, "
        f"{samples[-1][1]:.1f} MB after {done}; growth after the first {first[0]}: "
        f"{(samples[-1][1] - first[1]) * 1048576 / max(1, done - first[0]):.0f} bytes per request"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
