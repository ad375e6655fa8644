"""Benchmarks of the sandbox (``make bench``): start-up, throughput and latency per vendor operation,
the upload data path and memory, the scenario rules' and listings' cost, and, in the same run, the
sandbox beside the peer mock servers and the framework's ceiling, as ratios (bench/ratios.py).

    python bench/run.py --install-peers      # full run (about 12 minutes), writes bench/RESULTS.md
    python bench/run.py --quick              # a few minutes, fewer and shorter runs
    python bench/run.py --only load --rules 0 --workloads qubs-create-1
    python bench/run.py --only peers --variant 'quiet=--log-level warning'   # another sandbox row
    python bench/run.py --target-url http://127.0.0.1:9000 [--target-pid PID]   # a server already running

Every server is on 127.0.0.1 (checked); every loop is bounded in count and time (wrk -d and a request
cap, fixed upload counts, per-request timeouts); every server started is stopped by its own process
group. The load average is sampled through every phase. Figures are printed and written, never asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import requests
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench import ratios, ratios_md, report, startup, uploads  # noqa: E402
from bench.admin import Admin  # noqa: E402
from bench.load import make_client  # noqa: E402
from bench.loadavg import LoadWatch  # noqa: E402
from bench.server import Server, check_loopback  # noqa: E402
from bench.workloads import WORKLOADS, Skip, Workload  # noqa: E402

PHASES = ("startup", "load", "uploads", "rules", "listing", "peers")
# RESULTS.md from this line on is written by hand (other scripts' tables) and kept as it is.
KEEP_MARKER = "<!-- hand-appended below: kept by bench/run.py -->"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter runs (one to two minutes)")
    ap.add_argument(
        "--only", default=",".join(PHASES), help=f"phases to run, comma-separated: {','.join(PHASES)}"
    )
    ap.add_argument(
        "--target-url", help="measure a server that is already running (startup and peers skipped)"
    )
    ap.add_argument("--target-pid", type=int, help="its process id, for RSS figures")
    ap.add_argument("--s3-endpoint", help="embedded S3 endpoint (default TARGET/s3)")
    ap.add_argument("--no-reset", action="store_true", help="never POST /__admin/reset to the target")
    ap.add_argument("--client", choices=("auto", "wrk", "python"), default="auto", help="load generator")
    ap.add_argument("--duration", type=int, help="seconds per load cell (default 5, quick 2)")
    ap.add_argument("--warmup", type=int, help="unrecorded seconds before each cell (default 1, quick 0)")
    ap.add_argument("--conns", default="1,32", help="connection counts")
    ap.add_argument("--rules", default="0,100", help="scenario rule levels: numbers of non-matching rules")
    ap.add_argument(
        "--workloads", help="comma-separated workload keys: " + ",".join(w.key for w in WORKLOADS)
    )
    ap.add_argument("--startup-runs", type=int, help="process launches (default 10, quick 3)")
    ap.add_argument(
        "--peer-bench", default="/work/shared/peer-bench", help="folder of the peer driver bench.py"
    )
    ap.add_argument("--peers-dir", default="/tmp/peers", help="where peers.sh --install puts the peers")
    ap.add_argument(
        "--install-peers",
        action="store_true",
        help="first install the missing peers as peers.sh --install does (apt, PyPI, npm; a few minutes)",
    )
    ap.add_argument(
        "--peers",
        default="prism,wiremock,moto_server",
        help="peers to measure: prism,wiremock,mockoon,moto_server",
    )
    ap.add_argument("--peer-rounds", type=int, default=1, help="rounds of the interleaved QUBS create loads")
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=FLAGS",
        help="another sandbox row in the comparison, with these extra `serve` flags; `{redis}` is the URL of "
        "a redis-server this run starts (Debian's redis-server), `{namespace}` a fresh one per launch",
    )
    ap.add_argument("--listing-args", default="", help="arguments for bench/listing.py")
    ap.add_argument(
        "--server-arg", action="append", default=[], help="extra `serve` flag for launched servers"
    )
    ap.add_argument("--results", default=str(HERE / "RESULTS.md"), help="markdown output")
    ap.add_argument("--json", default=str(HERE / "results.json"), help="raw results output")
    ap.add_argument("--work-dir", default=str(Path(tempfile.gettempdir()) / "vendor-sandbox-bench"))
    a = ap.parse_args(argv)
    a.phases = [p for p in a.only.split(",") if p]
    a.duration = a.duration or (2 if a.quick else 5)
    a.warmup = a.warmup if a.warmup is not None else (0 if a.quick else 1)
    a.conns = [int(c) for c in a.conns.split(",")]
    a.rules = [int(n) for n in a.rules.split(",")]
    a.startup_runs = a.startup_runs or (3 if a.quick else 10)
    a.work_dir = Path(a.work_dir)
    a.peers = [p for p in a.peers.split(",") if p]
    a.variants = [tuple(v.split("=", 1)) for v in a.variant if "=" in v]
    a.needs_redis = any("{redis}" in flags for _, flags in a.variants)
    if a.target_url:
        check_loopback(a.target_url)
        a.target_url = a.target_url.rstrip("/")
        a.phases = [p for p in a.phases if p not in ("startup", "peers")]
    return a


def bench_fixtures(work_dir: Path) -> Path:
    """The default fixtures with Candid's documented rate limit (1000 requests / 10 s per IP) off,
    since a load test from one address is over it within a second."""
    target = work_dir / "fixtures"
    target.mkdir(parents=True, exist_ok=True)
    from mock_server.settings import DEFAULT_FIXTURES  # the checkout's fixtures/ or the packaged copy

    for source in DEFAULT_FIXTURES.glob("*.yaml"):
        data = yaml.safe_load(source.read_text())
        for section in (data or {}).values():
            if isinstance(section, dict) and isinstance(section.get("rate_limit"), dict):
                section["rate_limit"]["enabled"] = False
        (target / source.name).write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def run_load(a: argparse.Namespace, server: Server, session: requests.Session, results: dict) -> None:
    admin = Admin(server.url, session)
    client = make_client(a.client)
    results["client"] = client.name
    vendors = admin.vendors()
    has_scenarios = admin.scenarios_available()
    levels = a.rules if has_scenarios else [0]
    if not has_scenarios:
        results["notes"].append("No scenario engine on the target: only the 0-rule level was run.")
    chosen = [w for w in WORKLOADS if not a.workloads or w.key in a.workloads.split(",")]
    for workload in chosen:
        if workload.vendor not in vendors:
            reason = f"vendor {workload.vendor} is not mounted on this server"
            results["skipped"].append({"key": workload.key, "reason": reason})
            print(f"skip {workload.key}: {reason}", flush=True)
            continue
        skipped = False
        for level in levels:
            for conns in a.conns:
                try:
                    row = load_cell(a, client, server, admin, session, workload, level, conns, has_scenarios)
                except (Skip, requests.RequestException, KeyError, ValueError) as exc:
                    results["skipped"].append({"key": workload.key, "reason": str(exc)})
                    print(f"skip {workload.key}: {exc}", flush=True)
                    skipped = True
                    break
                results["load"].append(row)
                if row["errors"] and "429" in row["statuses"]:
                    results["notes"].append(
                        f"{workload.key}: 429s under load (a rate limit is on at the target)."
                    )
            if skipped:
                break


def load_cell(
    a: argparse.Namespace,
    client: object,
    server: Server,
    admin: Admin,
    session: requests.Session,
    workload: Workload,
    level: int,
    conns: int,
    has_scenarios: bool,
) -> dict:
    """One row: reset, rule level, a fresh request (tokens), warm-up, then the measured run.

    Raises: Skip (or a requests error) when the workload's request does not succeed.
    """
    if not a.no_reset:
        admin.reset()  # every row starts from the start-up state (records accumulate within a row only)
    active = admin.set_rules(level) if has_scenarios and not a.no_reset else 0
    spec = workload.build(server.url, session)
    if a.warmup:
        client.run(server.url, spec, conns, a.warmup)
    cpu_before = server.cpu_seconds()
    res = client.run(server.url, spec, conns, a.duration)
    cpu_after = server.cpu_seconds()
    cpu_ms = (
        (cpu_after - cpu_before) * 1000 / res.requests
        if cpu_before is not None and cpu_after is not None and res.requests
        else None
    )
    row = {
        "key": workload.key,
        "label": workload.label,
        "vendor": workload.vendor,
        "rules": level,
        "active_rules": active,
        **res.as_dict(),
        "errors": res.errors(spec.expect),
        "server_cpu_ms": cpu_ms,
    }
    print(
        f"{workload.key:18} rules={level:<3} c={conns:<2} {res.rps:8.0f} req/s"
        f"  p50 {res.p50_ms:6.2f} ms  p99 {res.p99_ms:7.2f} ms  cpu {cpu_ms or 0:.3f} ms/req"
        f"  errors {row['errors']}  {res.statuses}",
        flush=True,
    )
    return row


def run_uploads(a: argparse.Namespace, server: Server, session: requests.Session, results: dict) -> None:
    admin = Admin(server.url, session)
    ctx = uploads.UploadContext(
        server.url, session, admin, server.pid, admin.vendors(), a.s3_endpoint or server.url + "/s3"
    )
    reps = {"2mb": 3 if a.quick else 10, "25mb": 2 if a.quick else 5}
    results["uploads"]["sequential"] = uploads.sequential(ctx, reps)
    results["uploads"]["concurrent"] = uploads.concurrent_rss(ctx, rounds=1 if a.quick else 3)


def run_peers(a: argparse.Namespace, python: str, server_args: list[str], results: dict) -> None:
    if not a.needs_redis:
        results["comparison"] = ratios.compare(a, ROOT, python, server_args)
        return
    from mock_server.testing.redis_server import RedisServer, available

    if not available():
        a.variants = [(name, flags) for name, flags in a.variants if "{redis}" not in flags]
        results["notes"].append("variants over shared state skipped: no redis-server installed")
        results["comparison"] = ratios.compare(a, ROOT, python, server_args)
        return
    with RedisServer() as redis:
        a.variants = [(name, flags.replace("{redis}", redis.url)) for name, flags in a.variants]
        results["comparison"] = ratios.compare(a, ROOT, python, server_args)


def run_rules(a: argparse.Namespace, python: str, server_args: list[str], results: dict) -> None:
    results["rules"] = ratios.rules(python)


def run_listing(a: argparse.Namespace, python: str, server_args: list[str], results: dict) -> None:
    results["listing"] = ratios.listing(python, a.listing_args.split())


def write_results(path: Path, markdown: str) -> None:
    """Write ``markdown``, keeping what RESULTS.md holds from KEEP_MARKER on (tables added by hand)."""
    kept = ""
    if path.exists():
        old = path.read_text()
        if KEEP_MARKER in old:
            kept = "\n" + old[old.index(KEEP_MARKER) :]
    path.write_text(markdown + kept)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    started = time.perf_counter()
    python = sys.executable
    a.work_dir.mkdir(parents=True, exist_ok=True)
    server_args = ["--fixtures", str(bench_fixtures(a.work_dir)), *a.server_arg]
    results: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": report.machine(),
        "command": "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "params": {"duration": a.duration, "warmup": a.warmup, "conns": a.conns, "rules": a.rules},
        "client": "wrk",
        "load": [],
        "skipped": [],
        "uploads": {},
        "startup": {},
        "notes": [],
        "phases": {},
    }
    session = requests.Session()

    if "startup" in a.phases:
        print("== start-up", flush=True)
        with LoadWatch() as watch:
            results["startup"]["process"] = startup.process_startup(
                ROOT, python, a.startup_runs, server_args, a.work_dir
            )
            try:
                results["startup"]["liveserver"] = startup.liveserver_startup(ROOT, python, a.startup_runs)
            except RuntimeError as exc:
                results["startup"]["error"] = str(exc)
            moto = startup.find_moto_server(str(Path(a.peers_dir) / "moto" / "bin" / "moto_server"))
            if moto is None:
                results["notes"].append("cold start against moto_server skipped: no moto_server installed")
            else:
                contenders = {"sandbox": (ROOT, python)}
                results["startup"]["versus_moto"] = startup.versus_moto(contenders, moto, a.startup_runs, [])
        results["phases"]["startup"] = watch.summary()

    for phase, run in (("load", run_load), ("uploads", run_uploads)):
        if phase not in a.phases:
            continue
        print(f"== {phase}", flush=True)
        if a.target_url:
            server = Server(url=a.target_url, pid=a.target_pid)
            pid = f" (pid {a.target_pid})" if a.target_pid else ""
            results["server"] = f"already running at {a.target_url}{pid}"
        else:  # a fresh server per phase, so idle RSS is not what the previous phase left behind
            server = Server.launch(ROOT, python, server_args, a.work_dir / f"server-{phase}.log")
            results["server"] = (
                "`python -m mock_server serve --port 0 --fixtures <defaults with Candid's rate limit off>`, "
                "one per phase, default log level (one log line per request, to a file)"
            )
        try:
            with LoadWatch() as watch:
                run(a, server, session, results)
            results["phases"][phase] = watch.summary()
        finally:
            server.stop()
    results.setdefault("server", "none launched by the startup, load or uploads phases in this run")

    for phase, step in (("rules", run_rules), ("listing", run_listing), ("peers", run_peers)):
        if phase not in a.phases:
            continue
        print(f"== {phase}", flush=True)
        with LoadWatch() as watch:
            try:
                step(a, python, server_args, results)
            except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as exc:
                traceback.print_exc()
                results["notes"].append(f"The {phase} phase failed: {exc}")
        results["phases"][phase] = watch.summary()

    results["duration_s"] = time.perf_counter() - started
    Path(a.json).write_text(json.dumps(results, indent=1, default=str))
    write_results(Path(a.results), report.render(results))
    print("\n".join(ratios_md.render(results) + ratios_md.phases(results)), flush=True)
    print(f"== done in {results['duration_s']:.0f} s: {a.results}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
