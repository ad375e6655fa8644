"""Start-up time: a new server process to its first 200 from /__admin/health, and the in-process
``LiveServer`` that the pytest fixtures use (measured in a child process so imports are cold)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # run as a script: bench/ is not on the path yet
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.server import Server, cpu_seconds, wait_healthy


def process_startup(root: Path, python: str, runs: int, args: list[str], log_dir: Path) -> dict[str, object]:
    """``runs`` launches of ``python -m mock_server serve --port 0``: seconds to the first 200, idle RSS."""
    seconds: list[float] = []
    idle_rss: list[float] = []
    for i in range(runs):
        server = Server.launch(root, python, args, log_dir / "startup.log")
        try:
            assert server.startup_s is not None
            seconds.append(server.startup_s)
            time.sleep(0.3)
            idle_rss.append(server.rss_mb() or 0.0)
        finally:
            server.stop()
        print(f"  launch[{i}] {seconds[-1]:.3f}s idle RSS {idle_rss[-1]:.0f} MB", flush=True)
    return {
        "runs": runs,
        "seconds": seconds,
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "idle_rss_mb": statistics.median(idle_rss),
    }


def liveserver_startup(root: Path, python: str, runs: int) -> dict[str, object]:
    """Run ``_liveserver_main`` in a fresh interpreter (cold imports) and return what it measured.

    Raises: RuntimeError when the child fails.
    """
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = f"from bench.startup import _liveserver_main; _liveserver_main({int(runs)})"
    done = subprocess.run(
        [python, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"in-process start-up measurement failed: {done.stderr[-1500:]}")
    return json.loads(lines[-1])


def _liveserver_main(runs: int) -> None:
    """Child process: import time, then ``runs`` x (LiveServer() -> start -> first 200 -> stop);
    also ``Sandbox.reset()``, which the ``live`` fixture calls before each test."""
    started = time.perf_counter()
    from mock_server.testing.server import LiveServer

    import_s = time.perf_counter() - started
    seconds: list[float] = []
    resets: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        server = LiveServer()
        server.start()
        answered = wait_healthy(server.url + "/__admin/health", t0 + 30)
        if answered is None:
            server.stop()
            raise SystemExit("LiveServer did not answer /__admin/health")
        seconds.append(answered - t0)
        for _ in range(5):
            t1 = time.perf_counter()
            server.sandbox.reset()
            resets.append(time.perf_counter() - t1)
        server.stop()
    print(
        json.dumps(
            {
                "runs": runs,
                "import_s": import_s,
                "first_s": seconds[0],
                "seconds": seconds,
                "median_s": statistics.median(seconds),
                "min_s": min(seconds),
                "max_s": max(seconds),
                "reset_median_ms": statistics.median(resets) * 1000,
            }
        ),
        flush=True,
    )
    sys.stdout.flush()


# --------------------------------------------------------------------------------- against moto_server
MOTO_CANDIDATES = ("/tmp/peers/moto/bin/moto_server", "/tmp/motovenv/bin/moto_server")


def find_moto_server(given: str | None = None) -> str | None:
    """``given``, else moto_server where the peer driver installs it, else on PATH; None when absent."""
    for candidate in (given, *MOTO_CANDIDATES, shutil.which("moto_server")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cold_start(cmd: list[str], health: str, cwd: Path, env: dict[str, str], timeout: float = 60) -> dict:
    """Launch ``cmd`` (its own process group), poll ``health`` every 5 ms until it answers 200, read the
    process's user + system CPU at that moment, stop it. Seconds: ``{"cpu_s", "wall_s"}``.

    Raises: RuntimeError when it exits or does not answer within ``timeout`` seconds.
    """
    with open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, start_new_session=True
        )
    server = Server(url=health, pid=proc.pid, proc=proc)
    try:
        answered = wait_healthy(health, started + timeout, lambda: proc.poll() is None)
        cpu = cpu_seconds(proc.pid)
        if answered is None or cpu is None:
            raise RuntimeError(f"{cmd[0]} did not answer {health} (exit status {proc.poll()})")
        return {"cpu_s": cpu, "wall_s": answered - started}
    finally:
        server.stop()


def compile_bytecode(python: str, root: Path) -> None:
    """Write ``root/mock_server``'s bytecode, as ``pip install`` does for an installed package (and for
    moto in its venv): a source tree run with PYTHONDONTWRITEBYTECODE=1 (editable installs, this
    repository's own environment) would otherwise compile every module at every start."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [python, "-m", "compileall", "-q", str(root / "mock_server")],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )


def versus_moto(
    contenders: dict[str, tuple[Path, str]], moto_server: str, runs: int, args: list[str]
) -> dict[str, object]:
    """Cold starts, alternating launch by launch: each contender (name -> (source tree, python)) as
    ``python -m mock_server serve`` to its first 200 from /__admin/health, and ``moto_server`` to its
    first 200 from ``/``. Medians of CPU and wall seconds, and each contender's ratio to moto_server.
    Each source tree's bytecode is written first (``compile_bytecode``)."""
    for root, python in contenders.values():
        compile_bytecode(python, root)
    samples: dict[str, list[dict]] = {name: [] for name in [*contenders, "moto_server"]}
    for i in range(runs):
        for name, (root, python) in contenders.items():
            port = free_port()
            env = {**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"}
            cmd = [python, "-m", "mock_server", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
            samples[name].append(cold_start(cmd, f"http://127.0.0.1:{port}/__admin/health", root, env))
        port = free_port()
        cmd = [moto_server, "-H", "127.0.0.1", "-p", str(port)]
        samples["moto_server"].append(
            cold_start(cmd, f"http://127.0.0.1:{port}/", Path("/"), dict(os.environ))
        )
        line = "  ".join(f"{n} {s[-1]['cpu_s']:.2f}/{s[-1]['wall_s']:.2f}" for n, s in samples.items())
        print(f"  round[{i}] cpu/wall s: {line}", flush=True)
    rows: dict[str, dict] = {}
    for name, runs_of in samples.items():
        rows[name] = {
            "cpu_median_s": statistics.median(s["cpu_s"] for s in runs_of),
            "wall_median_s": statistics.median(s["wall_s"] for s in runs_of),
            "cpu_s": [s["cpu_s"] for s in runs_of],
            "wall_s": [s["wall_s"] for s in runs_of],
        }
    moto = rows["moto_server"]
    for row in rows.values():
        row["cpu_ratio"] = row["cpu_median_s"] / moto["cpu_median_s"]
        row["wall_ratio"] = row["wall_median_s"] / moto["wall_median_s"]
    return {"runs": runs, "loadavg": os.getloadavg(), "moto_server": moto_server, "rows": rows}


def versus_table(result: dict) -> str:
    """Markdown: one row per server, medians and the ratio to moto_server."""
    out = [
        f"Cold start to the first 200, {result['runs']} launches each, alternating, bytecode compiled; "
        "CPU = the server process's user + system time at that moment; load average "
        + " / ".join(f"{x:.2f}" for x in result["loadavg"]),
        "",
        "| server | CPU s (median) | wall s (median) | CPU / moto_server | wall / moto_server |",
        "|---|---|---|---|---|",
    ]
    for name, row in result["rows"].items():
        out.append(
            f"| {name} | {row['cpu_median_s']:.3f} | {row['wall_median_s']:.3f} | "
            f"{row['cpu_ratio']:.2f} | {row['wall_ratio']:.2f} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """``python bench/startup.py [--runs 10] [--moto-server PATH] [--compare NAME=SOURCE_TREE]``."""
    ap = argparse.ArgumentParser(description="Cold start of the sandbox beside moto_server's.")
    ap.add_argument("--runs", type=int, default=10, help="launches of each server")
    ap.add_argument("--moto-server", help=f"moto_server executable (default: {', '.join(MOTO_CANDIDATES)})")
    ap.add_argument(
        "--compare",
        action="append",
        default=[],
        help="NAME=DIR: also launch the sandbox from another source tree (e.g. a `git archive` of main)",
    )
    ap.add_argument("--server-arg", action="append", default=[], help="extra `serve` flag for the sandbox")
    a = ap.parse_args(argv)
    moto = find_moto_server(a.moto_server)
    if moto is None:
        raise SystemExit("no moto_server: pip install 'moto[server]' in a venv and pass --moto-server")
    root = Path(__file__).resolve().parent.parent
    contenders = {"sandbox": (root, sys.executable)}
    for item in a.compare:
        name, _, tree = item.partition("=")
        contenders[name] = (Path(tree).resolve(), sys.executable)
    result = versus_moto(contenders, moto, a.runs, a.server_arg)
    print(versus_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
