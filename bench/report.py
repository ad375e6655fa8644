"""Machine details and the markdown of bench/RESULTS.md, from the results of one run."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import subprocess
from typing import Any

from bench import ratios_md

PACKAGES = (
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "moto",
    "boto3",
    "botocore",
    "jsonschema",
    "python-multipart",
    "PyYAML",
    "requests",
)


def machine() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    first = lambda key: (re.search(rf"^{key}\s*:\s*(.*)$", cpuinfo, re.M) or [None, "?"])[1]  # noqa: E731
    mem_kb = int((re.search(r"^MemTotal:\s*(\d+)", _read("/proc/meminfo"), re.M) or [0, "0"])[1])
    os_name = (re.search(r'^PRETTY_NAME="?(.*?)"?$', _read("/etc/os-release"), re.M) or [None, "?"])[1]
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        wrk = "not installed"
    return {
        "cpu": f"{first('model name')} (family {first('cpu family')} model {first('model')})",
        "virtualized": " hypervisor" in (re.search(r"^flags\s*:(.*)$", cpuinfo, re.M) or [None, ""])[1] + " ",
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": os_name,
        "loadavg": os.getloadavg(),
        "python": platform.python_version(),
        "packages": versions,
        "wrk": wrk,
    }


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _span(s: dict[str, float] | None, digits: int = 1) -> str:
    if not s:
        return "–"
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    out = [
        "# Benchmark results",
        "",
        f"Measured {r['date']} with `{r['command']}` ({r['duration_s']:.0f} s in all). "
        "All traffic to 127.0.0.1. "
        "Figures are printed, never asserted; regenerate with `make bench` (which rewrites this file down to "
        "the hand-appended part at its end).",
        "Profiling findings and suggested fixes: [PROFILE.md](PROFILE.md).",
        "",
        "## Machine",
        f"- CPU: {m['cpu']}{', virtualized (KVM guest)' if m['virtualized'] else ''}, {m['cores']} cores; "
        f"RAM {m['ram_gib']} GiB; kernel {m['kernel']}; {m['os']}",
        f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- load generator: {r['client']} ({m['wrk']}); "
        f"**client and server share the same {m['cores']} cores** "
        "(wrk -t1 takes about one), so these are figures for both on one machine, not server capacity.",
        f"- server: {r['server']}",
        "- load average when the run started (1 / 5 / 15 min): "
        + " / ".join(f"{x:.2f}" for x in m["loadavg"]),
        "",
    ]
    out += ratios_md.render(r)
    out += ratios_md.phases(r)
    out += _startup(r.get("startup", {}))
    out += _load(r)
    out += _uploads(r.get("uploads", {}))
    if r.get("notes"):
        out += ["## Notes", "", *(f"- {note}" for note in r["notes"]), ""]
    return "\n".join(out) + "\n"


def _startup(s: dict[str, Any]) -> list[str]:
    if not s:
        return []
    out = ["## Start-up", "", "| what | median s | min–max s | runs | other |", "|---|---|---|---|---|"]
    p = s.get("process")
    if p:
        out.append(
            "| `python -m mock_server serve --port 0` → first 200 from /__admin/health | "
            f"{p['median_s']:.3f} | "
            f"{p['min_s']:.3f}–{p['max_s']:.3f} | {p['runs']} | idle RSS {p['idle_rss_mb']:.0f} MB |"
        )
    ls = s.get("liveserver")
    if ls:
        out.append(
            f"| in-process `LiveServer()` (testing/server.py) → first 200 | {ls['median_s']:.3f} | "
            f"{ls['min_s']:.3f}–{ls['max_s']:.3f} | {ls['runs']} | first one {ls['first_s']:.3f} s after "
            f"{ls['import_s']:.2f} s of imports; `Sandbox.reset()` {ls['reset_median_ms']:.1f} ms |"
        )
    if s.get("error"):
        out.append(f"\n{s['error']}")
    if s.get("versus_moto"):
        from bench.startup import versus_table

        out += ["", versus_table(s["versus_moto"])]
    return [*out, ""]


def _load(r: dict[str, Any]) -> list[str]:
    rows = r.get("load", [])
    if not rows and not r.get("skipped"):
        return []
    out = [
        "## Throughput and latency",
        "",
        f"wrk -t1, {r['params']['duration']} s per row after {r['params']['warmup']} s of unrecorded "
        "warm-up; the server is reset and a fresh request (token) made before each row. "
        "*rules* = scenario rules active: 0 = none "
        "(the built-in defaults removed too), 100 = 100 rules that never match (vendor + path-parameter, "
        "header, query and path matchers; no body matchers). *CPU ms/req* = the server process's user + "
        "system CPU time over the "
        "row divided by its requests (less sensitive than req/s to other load on the machine). "
        "*errors* = answers other than the documented success, plus socket errors.",
        "",
        "| request | conns | rules | req/s | p50 ms | p99 ms | server CPU ms/req | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    order = list(dict.fromkeys(row["key"] for row in rows))
    for row in sorted(rows, key=lambda x: (order.index(x["key"]), x["conns"], x["rules"])):
        cpu = f"{row['server_cpu_ms']:.3f}" if row.get("server_cpu_ms") is not None else "–"
        out.append(
            f"| {row['label']} | {row['conns']} | {row['rules']} | {row['rps']:.0f} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {cpu} | {row['errors']} |"
        )
    for skipped in r.get("skipped", []):
        out.append(f"\nSkipped {skipped['key']}: {skipped['reason']}")
    return [*out, ""]


def _uploads(u: dict[str, Any]) -> list[str]:
    if not u:
        return []
    names = {
        "storage_put_2mb": "presigned PUT 2 MB (boto3 presign, sandbox-uploads)",
        "qubs_put_2mb": "presigned PUT 2 MB to a QUBS upload URL (signed Content-Type, 2 MB cap, single use)",
        "post_policy_2mb": "POST-policy form upload 2 MB (boto3 generate_presigned_post)",
        "storage_put_25mb": "presigned PUT 25 MB",
        "candid_multipart_25mb": "Candid multipart upload 25 MB (PUT …/v2)",
    }
    out = [
        "## Upload data path",
        "",
        "Sequential uploads, one at a time; MB = MiB; time of the upload request only.",
        "",
        "| upload | MB/s median (min–max) | n |",
        "|---|---|---|",
    ]
    seq = u.get("sequential", {})
    for key, label in names.items():
        x = seq.get(key)
        if x is None:
            continue
        if "error" in x:
            out.append(f"| {label} | failed: {x['error'][:120]} | – |")
        else:
            out.append(f"| {label} | {_span(x['mb_per_s'])} | {x['mb_per_s']['n']} |")
    probes = seq.get("signature_probes")
    if probes:
        out += [
            "",
            f"Signature probes: zeroed signature → {probes['tampered_signature']}, URL used for another "
            f"key → {probes['swapped_key']}.",
        ]
    conc = u.get("concurrent", {})
    if conc:
        out += [
            "",
            "8 concurrent 25 MB uploads; RSS of the server process (VmRSS before; peak = max of VmHWM "
            "after a `clear_refs` reset and VmRSS sampled every 10 ms).",
            "",
            "| uploads | aggregate MB/s | idle RSS MB | peak RSS MB | peak − idle MB | rounds |",
            "|---|---|---|---|---|---|",
        ]
        labels = {"storage_put": "8 × presigned PUT 25 MB", "candid_multipart": "8 × Candid multipart 25 MB"}
        for key, x in conc.items():
            out.append(
                f"| {labels.get(key, key)} | {_span(x['agg_mb_per_s'])} | {_span(x['rss_before_mb'], 0)} | "
                f"{_span(x['peak_rss_mb'], 0)} | {_span(x['peak_delta_mb'], 0)} | {len(x['rounds'])} |"
            )
    return [*out, ""]
