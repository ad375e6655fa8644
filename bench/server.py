"""Start, watch and stop the sandbox server under test; read its memory from /proc.

The server runs as ``python -m mock_server serve --port 0`` in its own session (process group), so
it is stopped by its own id only. Its port is read from the start-up banner in its log file.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BANNER = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")
LOOPBACK = ("127.", "localhost", "::1")


def check_loopback(url: str) -> str:
    """Raises: SystemExit for any URL that is not on this machine's loopback interface."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if not host.startswith(LOOPBACK):
        raise SystemExit(f"refusing a non-loopback URL: {url}")
    return url


def http_status(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 2.0,
) -> int:
    """One request on a fresh connection; the status code. Raises: OSError when nothing answers."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def wait_healthy(url: str, deadline: float, alive: Callable[[], bool] = lambda: True) -> float | None:
    """Poll ``url`` every 5 ms until it answers 200; the perf_counter time of that answer, else None."""
    while time.perf_counter() < deadline and alive():
        try:
            if http_status(url, timeout=1.0) == 200:
                return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.005)
    return None


# --------------------------------------------------------------------------------- memory (/proc)
def status_kb(pid: int, field_name: str) -> int:
    """A ``/proc/PID/status`` field in kB (VmRSS, VmHWM); 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    return status_kb(pid, field_name) / 1024.0


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used (``/proc/PID/stat`` fields 14 and 15)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (``clear_refs`` 5). False when the kernel refuses."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------------- the server
@dataclass
class Server:
    """A sandbox server: one this script launched (``proc`` set) or one already running."""

    url: str
    pid: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    startup_s: float | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def launch(
        cls,
        root: Path,
        python: str,
        args: list[str],
        log_path: Path,
        timeout: float = 30.0,
        python_args: list[str] | None = None,
    ) -> Server:
        """Start ``python -m mock_server serve --port 0 ARGS`` and wait for the first 200 from health
        (``python_args`` replaces ``-m mock_server``, e.g. to run it under cProfile).

        Raises: RuntimeError when it exits or does not answer within ``timeout`` seconds.
        """
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"}
        cmd = [
            python,
            *(python_args or ["-m", "mock_server"]),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            *args,
        ]
        with open(log_path, "wb") as log:
            started = time.perf_counter()
            proc = subprocess.Popen(
                cmd,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = cls(url="", pid=proc.pid, proc=proc, log_path=log_path)
        deadline = started + timeout
        port = server._port_from_banner(deadline)
        if port is None:
            server.stop()
            raise RuntimeError(f"the server printed no banner; see {log_path}:\n{server.log_tail()}")
        server.url = f"http://127.0.0.1:{port}"
        answered = wait_healthy(server.url + "/__admin/health", deadline, lambda: proc.poll() is None)
        if answered is None:
            server.stop()
            raise RuntimeError(
                f"the server did not answer /__admin/health; see {log_path}:\n{server.log_tail()}"
            )
        server.startup_s = answered - started
        return server

    def _port_from_banner(self, deadline: float) -> int | None:
        assert self.log_path is not None and self.proc is not None
        while time.perf_counter() < deadline and self.proc.poll() is None:
            match = BANNER.search(self.log_path.read_bytes()[:4096])
            if match:
                return int(match.group(1))
            time.sleep(0.002)
        return None

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self.pid) if self.pid else None

    def rss_mb(self, field_name: str = "VmRSS") -> float | None:
        return rss_mb(self.pid, field_name) if self.pid else None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the process group this script started (never anything else), then SIGKILL."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            proc.wait(5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
