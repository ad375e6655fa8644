"""Transport limits and throughput: today's uvicorn defaults beside the guarded h11 transport.

    python bench/transport.py                 # both servers: limit probes, then wrk rows (about 3 min)
    python bench/transport.py --seconds 3     # shorter wrk rows
    python bench/transport.py --no-probes     # throughput only

*before* is the server as it was configured until the transport limits (uvicorn's defaults: httptools,
keep-alive 5 s, X-Forwarded-For believed from anyone, no request-head or body deadline, no header
bound; the app-level header guard is switched off by huge limits); *after* is ``mock-server serve``
now (``mock_server/transport.py``: httptools with a request-head byte bound checked before parsing,
8 KiB header section and 100 lines checked in front of the app, a 20 s request-head deadline, a 30 s
body idle deadline, keep-alive 5 s); *after, h11* is the same with uvicorn's h11 parser, whose
``h11_max_incomplete_event_size`` bounds the head instead.
Probes send hostile input from threads of this process and time what the server does, each bounded;
the throughput rows run wrk (or the bounded asyncio client) as ``bench/run.py`` does. 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROBE_BOUND = 40.0  # seconds: no probe waits longer; "not cut" means the server held on past it


def legacy_serve(argv: list[str]) -> int:
    """``mock-server serve`` with the uvicorn settings it had before the transport limits."""
    import uvicorn

    from mock_server import cli

    if argv and argv[0] == "--h11":
        from mock_server.transport import uvicorn_config

        cli.uvicorn_config = lambda app, settings, **extra: uvicorn_config(app, settings, "h11", **extra)  # type: ignore[assignment]
        return cli.main(argv[1:])

    def legacy_config(app: object, settings: object, **extra: object) -> uvicorn.Config:
        return uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="on",
            proxy_headers=True,  # type: ignore[arg-type]
            forwarded_allow_ips="*",
            timeout_graceful_shutdown=10,
        )

    cli.uvicorn_config = legacy_config  # type: ignore[assignment]
    return cli.main(argv)


# ----------------------------------------------------------------------------------------- probes
def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=PROBE_BOUND)
    return sock


def _wait_close(sock: socket.socket, started: float) -> tuple[str, float]:
    """(first status line or 'closed', seconds from ``started``) once the server answers or closes."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n" in data:
                break
    except TimeoutError:
        return "not cut", time.monotonic() - started
    except OSError:
        pass
    line = data.split(b"\r\n", 1)[0].decode("latin-1") if data else "closed, no answer"
    return line, time.monotonic() - started


def probe_big_header(port: int) -> str:
    sock = _connect(port)
    started = time.monotonic()
    sent = 0
    other_ms: list[float] = []

    def other_client() -> None:
        time.sleep(0.2)
        t = time.monotonic()
        with _connect(port) as other:
            other.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            _wait_close(other, t)
        other_ms.append((time.monotonic() - t) * 1000)

    helper = threading.Thread(target=other_client)
    helper.start()
    try:
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        while sent < 64 * 1024 * 1024:
            sock.sendall(b"a" * 65536)
            sent += 65536
        sock.sendall(b"\r\n\r\n")
    except OSError:
        pass
    result, seconds = _wait_close(sock, started)
    sock.close()
    helper.join(PROBE_BOUND)
    other = f"{other_ms[0]:.0f} ms" if other_ms else "no answer"
    return (
        f"{result} after {seconds:.2f} s, {sent / 1048576:.1f} MiB accepted; another client's health: {other}"
    )


def probe_raw(port: int, payload: bytes) -> str:
    with _connect(port) as sock:
        started = time.monotonic()
        sock.sendall(payload)
        result, seconds = _wait_close(sock, started)
    return f"{result} ({seconds:.2f} s)"


def probe_silent(port: int) -> str:
    with _connect(port) as sock:
        result, seconds = _wait_close(sock, time.monotonic())
    return f"{result} after {seconds:.1f} s"


def probe_slow_head(port: int) -> str:
    with _connect(port) as sock:
        started = time.monotonic()
        sock.setblocking(False)
        try:
            sock.sendall(b"GET /__admin/health HTTP/1.1\r\n")
            n = 0
            while time.monotonic() - started < PROBE_BOUND:
                sock.sendall(b"X-Slow-%d: 1\r\n" % n)
                n += 1
                time.sleep(1.0)
                try:
                    if sock.recv(1) == b"":
                        return f"cut after {time.monotonic() - started:.1f} s ({n} header lines sent)"
                except BlockingIOError:
                    pass
        except OSError:
            return f"cut after {time.monotonic() - started:.1f} s"
    return f"not cut within {PROBE_BOUND:.0f} s"


def probe_declared_body(port: int) -> str:
    payload = (
        b"POST /qubs/integrations/v1/acme/reporting/appointments/A123456/comments HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nAuthorization: Bearer qubs-dev-token\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000000\r\n\r\n0123456789"
    )
    with _connect(port) as sock:
        started = time.monotonic()
        sock.sendall(payload)
        result, seconds = _wait_close(sock, started)
    return f"{result} after {seconds:.1f} s" if result != "not cut" else f"not cut within {PROBE_BOUND:.0f} s"


def probe_keep_alive(port: int) -> str:
    with _connect(port) as sock:
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.recv(65536)
        started = time.monotonic()
        result, seconds = _wait_close(sock, started)
    return f"closed after {seconds:.1f} s idle" if result != "not cut" else f"open after {PROBE_BOUND:.0f} s"


PROBES: list[tuple[str, Callable[[int], str]]] = [
    ("one 64 MiB header (sent as fast as accepted)", probe_big_header),
    (
        "9 KiB header section",
        lambda p: probe_raw(
            p, b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: " + b"a" * 9000 + b"\r\n\r\n"
        ),
    ),
    (
        "150 header lines",
        lambda p: probe_raw(
            p,
            b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + b"".join(b"X-%d: 1\r\n" % i for i in range(150))
            + b"\r\n",
        ),
    ),
    ("connection that sends nothing", probe_silent),
    ("request head sent one header line per second", probe_slow_head),
    ("Content-Length 1 GB, 10 bytes sent, then silence", probe_declared_body),
    ("idle keep-alive connection after one answer", probe_keep_alive),
]


def run_probes(port: int) -> dict[str, str]:
    results: dict[str, str] = {}

    def run(name: str, probe: Callable[[int], str]) -> None:
        try:
            results[name] = probe(port)
        except Exception as exc:  # a probe failing is a figure too
            results[name] = f"probe error: {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=run, args=item) for item in PROBES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PROBE_BOUND + 30)
    return {name: results.get(name, "probe did not finish") for name, _ in PROBES}


# ------------------------------------------------------------------------------------- throughput
def run_throughput(urls: dict[str, str], seconds: float) -> dict[str, list[tuple]]:
    """wrk rows per mode; the modes take turns row by row, so load from elsewhere hits them alike."""
    import requests

    from bench.load import RequestSpec, make_client, wrk_available
    from bench.workloads import candid_token, qubs_create

    client = make_client("wrk" if wrk_available() else "python")
    session = requests.Session()
    any_url = next(iter(urls.values()))
    specs = [
        ("GET /__admin/health", RequestSpec("GET", "/__admin/health", {}, b"", (200,))),
        ("QUBS create upload URLs, 1 item", qubs_create(1)(any_url, session)),
        ("Candid OAuth token", candid_token(any_url, session)),
    ]
    rows: dict[str, list[tuple]] = {mode: [] for mode in urls}
    for label, spec in specs:
        for conns in (1, 32):
            for mode, url in urls.items():
                client.run(url, spec, conns, 1)  # warm-up, not recorded
                result = client.run(url, spec, conns, seconds)
                rows[mode].append(
                    (label, conns, result.rps, result.p50_ms, result.p99_ms, result.errors(spec.expect))
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per wrk row")
    parser.add_argument("--no-probes", action="store_true")
    parser.add_argument("--no-throughput", action="store_true")
    a = parser.parse_args(argv)

    from bench.run import bench_fixtures
    from bench.server import Server

    work = Path(tempfile.mkdtemp(prefix="bench-transport-"))
    fixtures = bench_fixtures(work)
    script = str(Path(__file__).resolve())
    no_guard = ["--max-header-bytes", "1000000000", "--max-header-count", "1000000"]
    modes = {
        "before": ([script, "--legacy-server"], no_guard),
        "after": (["-m", "mock_server"], []),
        "after, h11": ([script, "--legacy-server", "--h11"], []),
    }
    probes: dict[str, dict[str, str]] = {}
    rows: dict[str, list] = {}
    servers: dict[str, Server] = {}
    try:
        for mode, (python_args, extra) in modes.items():
            servers[mode] = Server.launch(
                ROOT,
                sys.executable,
                ["--fixtures", str(fixtures), *extra],
                work / f"{mode.replace(', ', '-')}.log",
                python_args=python_args,
            )
        if not a.no_probes:
            for mode, server in servers.items():
                probes[mode] = run_probes(int(server.url.rsplit(":", 1)[1]))
        if not a.no_throughput:
            rows = run_throughput({mode: server.url for mode, server in servers.items()}, a.seconds)
    finally:
        for server in servers.values():
            server.stop()
    print(report(probes, rows, a.seconds))
    return 0


def report(probes: dict[str, dict[str, str]], rows: dict[str, list], seconds: float) -> str:
    lines = []
    if probes:
        modes = list(probes)
        lines += [
            "## Transport limits (hostile clients)",
            "",
            "| input | " + " | ".join(modes) + " |",
            "|---|" + "---|" * len(modes),
        ]
        for name, _ in PROBES:
            lines.append(f"| {name} | " + " | ".join(probes[mode][name] for mode in modes) + " |")
        lines.append("")
    if rows:
        modes = list(rows)
        lines += [
            f"## Throughput with the limits (wrk -t1, {seconds:g} s per row; req/s, p50/p99 ms, errors)",
            "",
            "| request | conns | " + " | ".join(modes) + " |",
            "|---|---|" + "---|" * len(modes),
        ]
        for cells in zip(*(rows[mode] for mode in modes), strict=True):
            label, conns = cells[0][0], cells[0][1]
            shown = [f"{c[2]:.0f} req/s, {c[3]:.2f}/{c[4]:.2f} ms, {c[5]} errors" for c in cells]
            lines.append(f"| {label} | {conns} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    if (
        len(sys.argv) > 1 and sys.argv[1] == "--legacy-server"
    ):  # python transport.py --legacy-server [--h11] serve ...
        sys.exit(legacy_serve(sys.argv[2:]))
    sys.exit(main())
