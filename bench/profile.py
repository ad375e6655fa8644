"""Where a request's time goes: sample the server with py-spy while wrk (or the asyncio client) loads
one workload, then print the hottest functions (self and inclusive share of samples).

    python bench/profile.py qubs-create-1 [--seconds 10] [--rules 0] [--py-spy PATH] [--server-arg ...]
    python bench/profile.py storage-put-2mb          # presigned PUT of 2 MB to one URL, repeated

py-spy is not a project dependency: install it anywhere (``pip install py-spy``) and pass its path.
Without it the server runs under cProfile instead (slower, and it distorts short functions more).
"""

from __future__ import annotations

import argparse
import collections
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.admin import Admin  # noqa: E402
from bench.load import RequestSpec, make_client  # noqa: E402
from bench.run import bench_fixtures  # noqa: E402
from bench.server import Server  # noqa: E402
from bench.uploads import BUCKET, payload, s3_client  # noqa: E402
from bench.workloads import WORKLOADS  # noqa: E402


def storage_put_spec(server: Server) -> RequestSpec:
    url = s3_client(server.url + "/s3").generate_presigned_url(
        "put_object",
        Params={"Bucket": BUCKET, "Key": "profile/2mb.bin"},
        ExpiresIn=24 * 3600,
        HttpMethod="PUT",
    )
    return RequestSpec("PUT", url[len(server.url) :], {}, payload(2), (200,))


def top_from_collapsed(path: Path, limit: int) -> str:
    """Self and inclusive shares per function from py-spy's collapsed stacks ("a;b;c count" lines)."""
    self_counts: collections.Counter[str] = collections.Counter()
    total_counts: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [
            re.sub(r":\d+\)$", ")", f) for f in stack.split(";") if not f.startswith(("process ", "thread "))
        ]
        samples += n
        if frames:
            self_counts[frames[-1]] += n
        for frame in set(frames):
            total_counts[frame] += n
    lines = [f"{samples} samples", "", "self %  incl %  function (file:line)"]
    for frame, n in self_counts.most_common(limit):
        lines.append(f"{100 * n / samples:6.1f}  {100 * total_counts[frame] / samples:6.1f}  {frame}")
    lines += ["", "inclusive, mock_server/starlette/moto frames only:"]
    shown = 0
    for frame, n in total_counts.most_common():
        if any(part in frame for part in ("mock_server", "starlette", "moto", "botocore", "jsonschema")):
            lines.append(f"        {100 * n / samples:6.1f}  {frame}")
            shown += 1
            if shown >= limit:
                break
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload", help="a workload key of bench/workloads.py, or storage-put-2mb")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--rules", type=int, default=0)
    ap.add_argument("--py-spy", default=shutil.which("py-spy") or "/tmp/benchtools/bin/py-spy")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--server-arg", action="append", default=[])
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "vendor-sandbox-profile"))
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    args = ["--fixtures", str(bench_fixtures(out)), *a.server_arg]
    use_py_spy = os.path.exists(a.py_spy)
    python = sys.executable
    if not use_py_spy:  # cProfile around the whole server; stats written when it stops on SIGTERM
        print("py-spy not found: running the server under cProfile", flush=True)
        python_args = ["-m", "cProfile", "-o", str(out / "server.prof"), "-m", "mock_server"]
        server = Server.launch(ROOT, python, args, out / "server.log", python_args=python_args)
    else:
        server = Server.launch(ROOT, python, args, out / "server.log")
    session = requests.Session()
    try:
        admin = Admin(server.url, session)
        admin.set_rules(a.rules)
        if a.workload == "storage-put-2mb":
            spec = storage_put_spec(server)
        else:
            workload = next(w for w in WORKLOADS if w.key == a.workload)
            spec = workload.build(server.url, session)
        client = make_client("auto")
        spy = None
        if use_py_spy:
            spy = subprocess.Popen(
                [
                    a.py_spy,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--rate",
                    "500",
                    "--format",
                    "raw",
                    "--duration",
                    str(a.seconds + 1),
                    "--nonblocking",
                    "-o",
                    str(out / "stacks.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
        result = client.run(server.url, spec, a.conns, a.seconds)
        print(f"{a.workload}: {result.rps:.0f} req/s, p50 {result.p50_ms:.2f} ms, statuses {result.statuses}")
        if spy is not None:
            spy.wait(a.seconds + 30)
    finally:
        server.stop()
    if use_py_spy:
        print(top_from_collapsed(out / "stacks.txt", a.top))
    else:
        stats = pstats.Stats(str(out / "server.prof"))
        stats.sort_stats("tottime").print_stats(a.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
