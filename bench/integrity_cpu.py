"""Server CPU and memory of 25 MB presigned PUTs, with and without client integrity headers.

Printed, never asserted. Wall-clock MB/s swings with whatever else the machine runs; the server's
own CPU seconds per upload (utime + stime from /proc) hardly do, so this is the figure to compare
before and after a change on the upload path:

    python bench/integrity_cpu.py                    # this tree
    python bench/integrity_cpu.py --root /tmp/old    # an older checkout (e.g. `git archive <rev>`)

Each variant: one warm-up, 8 sequential uploads (server CPU ms per upload, median MB/s), then 3
rounds of 8 concurrent uploads (median aggregate MB/s, server CPU s per round, idle and peak RSS).
"checked" sends Content-MD5 and x-amz-checksum-crc32c (signed into the URL, as boto3 does).
Talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import statistics
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(HERE.parent), help="project tree whose server is measured")
    ap.add_argument("--work-dir", default="/tmp/vendor-sandbox-integrity-bench")
    a = ap.parse_args()
    root = Path(a.root).resolve()
    sys.path.insert(0, str(root))
    import requests

    from bench import run, uploads  # the measured tree's own bench helpers
    from bench.admin import Admin
    from bench.server import Server, cpu_seconds, reset_peak, rss_mb

    work = Path(a.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    fixtures = run.bench_fixtures(work)
    srv = Server.launch(root, sys.executable, ["--fixtures", str(fixtures)], work / "server.log")
    session = requests.Session()
    admin = Admin(srv.url, session)
    ctx = uploads.UploadContext(srv.url, session, admin, srv.pid, admin.vendors(), srv.url + "/s3")
    s3 = ctx.s3()
    data = uploads.payload(25)
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    crc32 = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()

    def put(key: str, checked: bool) -> float:
        params = {"Bucket": "sandbox-uploads", "Key": key}
        headers = {}
        if checked:
            params |= {"ContentMD5": md5, "ChecksumCRC32": crc32}
            headers = {"Content-MD5": md5, "x-amz-checksum-crc32": crc32}
        url = s3.generate_presigned_url("put_object", Params=params, ExpiresIn=3600)
        started = time.perf_counter()
        response = session.put(url, data=data, headers=headers, timeout=120)
        if response.status_code != 200:
            raise RuntimeError(f"PUT {key}: {response.status_code} {response.text[:200]}")
        return time.perf_counter() - started

    def concurrent_round(label: str, number: int, checked: bool) -> dict[str, float]:
        admin.reset()
        time.sleep(1.0)
        idle = rss_mb(srv.pid)
        reset_peak(srv.pid)
        peak = [idle]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_mb(srv.pid))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        cpu_before, started = cpu_seconds(srv.pid), time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: put(f"{label}-{number}-{i}", checked), range(8)))
        wall, cpu_after = time.perf_counter() - started, cpu_seconds(srv.pid)
        done.set()
        sampler.join()
        peak[0] = max(peak[0], rss_mb(srv.pid, "VmHWM"))
        return {
            "mb_per_s": 200 / wall,
            "cpu_s": cpu_after - cpu_before,
            "idle_rss_mb": idle,
            "peak_rss_mb": peak[0],
        }

    out: dict[str, object] = {"root": str(root)}
    try:
        for checked in (False, True):
            label = "checked" if checked else "plain"
            admin.reset()
            put("warm-up", checked)
            cpu_before = cpu_seconds(srv.pid)
            walls = [put(f"seq-{i}", checked) for i in range(8)]
            cpu_ms = (cpu_seconds(srv.pid) - cpu_before) / len(walls) * 1000
            out[f"sequential_25mb_{label}"] = {
                "server_cpu_ms_per_upload": round(cpu_ms, 1),
                "mb_per_s_median": round(statistics.median(25 / w for w in walls), 1),
            }
            rounds = [concurrent_round(label, number, checked) for number in range(3)]
            out[f"concurrent_8x25mb_{label}"] = {
                name: round(statistics.median(r[name] for r in rounds), 2) for name in rounds[0]
            }
            print(label, json.dumps({k: v for k, v in out.items() if label in k}), flush=True)
    finally:
        srv.stop()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
