"""Start-up time: a new server process to its first 200 from /__admin/health, and the in-process
``LiveServer`` that the pytest fixtures use (measured in a child process so imports are cold)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.server import Server, wait_healthy


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
