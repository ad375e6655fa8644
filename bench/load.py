"""Load generators: Debian's ``wrk`` (preferred) and a bounded asyncio HTTP/1.1 client (fallback).

Both send one fixed request over N keep-alive connections for a fixed time, capped in count, and
return the same ``LoadResult``: requests/s, p50/p99 latency and a count per status code.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk" / "request.lua"
MAX_REQUESTS = 2_000_000


@dataclass(frozen=True)
class RequestSpec:
    """One request, sent the same way every time."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    expect: tuple[int, ...] = (200, 201)


@dataclass
class LoadResult:
    tool: str
    conns: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    socket_errors: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def errors(self, expect: tuple[int, ...]) -> int:
        wrong = sum(n for code, n in self.statuses.items() if int(code) not in expect)
        return wrong + self.socket_errors

    def as_dict(self) -> dict[str, object]:
        return {
            "tool": self.tool,
            "conns": self.conns,
            "requests": self.requests,
            "seconds": self.seconds,
            "rps": self.rps,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "statuses": self.statuses,
            "socket_errors": self.socket_errors,
        }


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


class Wrk:
    """``wrk -t1 -cN -dS`` with bench/wrk/request.lua (the client takes one of the two cores)."""

    name = "wrk"

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads

    def run(self, base_url: str, spec: RequestSpec, conns: int, seconds: float) -> LoadResult:
        with tempfile.NamedTemporaryFile(prefix="bench-body-", delete=False) as body_file:
            body_file.write(spec.body)
        try:
            env = {
                **os.environ,
                "BENCH_METHOD": spec.method,
                "BENCH_BODY_FILE": body_file.name if spec.body else "",
                "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in spec.headers.items()),
                "BENCH_MAX_REQUESTS": str(MAX_REQUESTS),
            }
            duration = max(1, round(seconds))
            cmd = [
                "wrk",
                "-t",
                str(min(self.threads, conns)),
                "-c",
                str(conns),
                "-d",
                f"{duration}s",
                "--timeout",
                "5s",
                "-s",
                str(WRK_SCRIPT),
                base_url + spec.path,
            ]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 60)
        finally:
            os.unlink(body_file.name)
        match = re.search(r"^BENCHJSON (.*)$", out.stdout, re.M)
        if not match:
            raise RuntimeError(f"wrk printed no summary: {out.stdout[-800:]} {out.stderr[-800:]}")
        data = json.loads(match.group(1))
        socket_errors = sum(data[k] for k in ("err_connect", "err_read", "err_write", "err_timeout"))
        return LoadResult(
            "wrk",
            conns,
            data["requests"],
            data["duration_us"] / 1e6,
            data["p50_us"] / 1000,
            data["p99_us"] / 1000,
            data["statuses"],
            socket_errors,
        )


class AsyncClient:
    """Bounded asyncio client: N connections, each sending the request and reading the answer in turn."""

    name = "python-asyncio"

    def run(self, base_url: str, spec: RequestSpec, conns: int, seconds: float) -> LoadResult:
        return asyncio.run(self._run(base_url, spec, conns, seconds))

    async def _run(self, base_url: str, spec: RequestSpec, conns: int, seconds: float) -> LoadResult:
        parts = urllib.parse.urlsplit(base_url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        head = [
            f"{spec.method} {spec.path} HTTP/1.1",
            f"Host: {host}:{port}",
            f"Content-Length: {len(spec.body)}",
        ]
        head += [f"{k}: {v}" for k, v in spec.headers.items() if k.lower() not in ("host", "content-length")]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + spec.body
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        errors = [0]
        started = time.perf_counter()
        deadline = started + seconds
        cap = MAX_REQUESTS // max(conns, 1)

        async def one_connection() -> None:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                errors[0] += 1
                return
            try:
                for _ in range(cap):
                    if time.perf_counter() >= deadline:
                        break
                    t0 = time.perf_counter()
                    writer.write(request)
                    await writer.drain()
                    status = await asyncio.wait_for(_read_response(reader), timeout=5.0)
                    latencies.append(time.perf_counter() - t0)
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                errors[0] += 1
            finally:
                writer.close()

        await asyncio.gather(*(one_connection() for _ in range(conns)))
        elapsed = time.perf_counter() - started
        p50, p99 = _percentiles(latencies)
        return LoadResult(self.name, conns, len(latencies), elapsed, p50, p99, statuses, errors[0])


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (Content-Length or chunked body). Raises: ValueError for a malformed one."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    if len(latencies) < 2:
        value = latencies[0] * 1000 if latencies else 0.0
        return value, value
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def make_client(choice: str) -> Wrk | AsyncClient:
    """``wrk`` when asked for and installed (else the asyncio client, saying so), or ``python``."""
    if choice == "python":
        return AsyncClient()
    if wrk_available():
        return Wrk()
    message = "wrk is not installed (Debian: apt-get install -y wrk); using the slower asyncio client"
    if choice == "wrk":
        raise SystemExit(
            message.replace("; using the slower asyncio client", "") + " and --client wrk was given"
        )
    print(f"note: {message}", flush=True)
    return AsyncClient()
