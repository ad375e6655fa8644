"""The figures the sandbox is judged by, measured in one run so they can be given as ratios.

- ``compare``: the shared peer driver (``bench.py target``) starts and measures, one after another on
  this machine, the sandbox (and any ``--variant`` of its serve flags), bench/ceiling.py (the framework's
  ceiling) and the peers (bench/peers.py): cold start of the sandbox and of moto_server, moto_server's
  upload figures, then QUBS create upload URLs with 1 and 20 items at 1 and 32 connections on the
  sandbox, the ceiling, Prism and WireMock (Mockoon too when asked), in rounds, servers interleaved;
- ``rules``: bench/rules.py, CPU 100 non-matching scenario rules add per request, with the rule index
  and with a plain scan;
- ``listing``: bench/listing.py, listing 10,000 stored items.

Each measurement records the load average while it ran (bench/loadavg.py). Printed, never asserted.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench import peers
from bench.loadavg import LoadWatch

HERE = Path(__file__).resolve().parent
LOAD_PEERS = ("prism", "wiremock", "mockoon")
MAX_RECORDS = 10_000_000


def compare(a: argparse.Namespace, root: Path, python: str, server_args: list[str]) -> dict[str, Any]:
    """Every driver run of the comparison; ``{"runs": [...], "versions", "installed", "notes", ...}``."""
    peer_dir, peers_dir = Path(a.peer_bench), Path(a.peers_dir)
    work = a.work_dir / "peers"
    work.mkdir(parents=True, exist_ok=True)
    log = work / "peer-driver.log"
    log.write_bytes(b"")
    out: dict[str, Any] = {"driver": str(peer_dir / "bench.py"), "runs": [], "notes": [], "log": str(log)}
    if not (peer_dir / "bench.py").exists():
        out["error"] = f"Peer driver not found at {peer_dir}; comparison skipped."
        return out
    if a.install_peers:
        try:
            out["install_s"] = peers.install(peers_dir, work / "install.log")
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            out["notes"].append(f"Installing the peers failed: {exc}")
    have = peers.installed(peers_dir)
    out["installed"] = have
    out["versions"] = peers.peer_versions(peers_dir)
    chosen = [p for p in a.peers if p in peers.PEERS]
    for name in chosen:
        if not have.get(name):
            out["notes"].append(
                f"{name} is not installed under {peers_dir} (`python bench/run.py --install-peers` "
                "installs it as the driver's peers.sh --install does): its rows and ratios are missing."
            )
    quick = a.quick
    cold_runs = 2 if quick else 7
    duration = 3 if quick else 10
    warmup = 1 if quick else 3
    out["params"] = {
        "coldstart_runs": cold_runs,
        "duration": duration,
        "warmup": warmup,
        "rounds": a.peer_rounds,
    }
    # The driver does not reset between its two connection levels: with 20 items a run stores hundreds
    # of thousands of attachments, past the default record cap (then creations answer 507, cheaply).
    uncapped = [*server_args, "--max-records", str(MAX_RECORDS)]
    sandboxes = [("vendor-sandbox", uncapped)] + [
        (name, [*uncapped, *shlex.split(flags)]) for name, flags in a.variants
    ]

    def measure(name: str, kind: str, items: int | None, args: list[str] | None, cold: int, rnd: int) -> None:
        if args is None:
            return
        result = work / f"{name}-{kind}-{items or 0}-r{rnd}.json"
        result.unlink(missing_ok=True)
        params = peers.driver_params(cold, 1, duration, warmup, result)
        row: dict[str, Any] = {"server": name, "kind": kind, "items": items, "round": rnd}
        print(f"  {name}: {kind}{f', {items} item(s)' if items else ''} (round {rnd + 1})", flush=True)
        with LoadWatch() as watch:
            try:
                peers.run_driver(
                    python, peer_dir, ["--name", name, *args, "--log-dir", str(work), *params], log, cwd=work
                )
            except (RuntimeError, OSError) as exc:
                row["error"] = str(exc)
        row["loadavg"] = watch.summary()
        row["result"] = peers.read_result(result)
        busy = [port for port in peers.ports_of(args) if peers.port_in_use(port)]
        if busy:
            row["ports_left_open"] = busy
            out["notes"].append(f"{name}: port(s) {busy} still answered after its run.")
        out["runs"].append(row)

    for name, args in sandboxes:
        measure(name, "coldstart", None, peers.sandbox_target(root, python, args, None), cold_runs, 0)
    if "moto_server" in chosen:
        moto = peers.peer_target("moto_server", peer_dir, peers_dir, None)
        moto_counts = ["--upload-reps-2mb", "3", "--upload-reps-25mb", "2", "--concurrent-rounds", "1"]
        measure(
            "moto_server",
            "coldstart+upload",
            None,
            moto and [*moto, *(moto_counts if quick else [])],
            cold_runs,
            0,
        )
    for rnd in range(a.peer_rounds):
        for items in (1, 20):
            # Targets are built just before their run (each takes a free port then); odd rounds go in the
            # reverse order, so no server always runs first or last.
            order: list[tuple[str, Callable[[], list[str] | None]]] = [
                *(
                    (name, partial(peers.sandbox_target, root, python, args, items))
                    for name, args in sandboxes
                ),
                ("ceiling", partial(peers.ceiling_target, python, items)),
                *(
                    (name, partial(peers.peer_target, name, peer_dir, peers_dir, items))
                    for name in chosen
                    if name in LOAD_PEERS
                ),
            ]
            for name, target in order[:: -1 if rnd % 2 else 1]:
                measure(name, "qubs-create", items, target(), 0, rnd)
    return out


# --------------------------------------------------------------------------------- rules and listing
RULES_LINE = re.compile(
    r"no rules (?P<base>[\d.]+) µs, (?P<rules>\d+) non-matching rules (?P<loaded>[\d.]+) µs, "
    r"added (?P<added>-?[\d.]+) µs"
)


def rules(python: str) -> dict[str, Any]:
    """bench/rules.py with the index and with ``--scan``: ``{"index": {...}, "scan": {...}}`` (µs)."""
    out: dict[str, Any] = {}
    for mode, extra in (("index", []), ("scan", ["--scan"])):
        done = subprocess.run(
            [python, str(HERE / "rules.py"), *extra], capture_output=True, text=True, timeout=900
        )
        match = RULES_LINE.search(done.stdout)
        if done.returncode != 0 or not match:
            out[mode] = {"error": (done.stdout + done.stderr)[-600:]}
            continue
        out[mode] = {k: float(v) for k, v in match.groupdict().items()} | {"line": match.group(0)}
        print(f"  rules ({mode}): {match.group(0)}", flush=True)
    return out


LISTING_LINE = re.compile(
    r"^(?P<label>.+?) \((?P<status>\d+), (?P<items>\d+) items, (?P<mb>[\d.]+) MB\): "
    r"median (?P<ms>[\d.]+) ms wall, (?P<cpu_ms>[\d.]+) ms CPU"
)


def listing(python: str, args: list[str]) -> dict[str, Any]:
    """bench/listing.py ARGS: its output lines, and per list call its label, items and median ms.

    Reads both of its output forms: one line per call (``LABEL (STATUS, N items, X MB): median W ms
    wall, C ms CPU``) or a markdown table with ``median server ms`` (or ``wall``) and ``CPU`` columns.
    """
    done = subprocess.run(
        [python, str(HERE / "listing.py"), *args], capture_output=True, text=True, timeout=3600
    )
    lines = done.stdout.splitlines()
    out: dict[str, Any] = {"lines": lines, "calls": parse_listing(lines)}
    if done.returncode != 0:
        out["error"] = (done.stdout + done.stderr)[-800:]
    for call in out["calls"]:
        print(f"  listing: {call['label']}: {call['items']} items, median {call['ms']:.1f} ms", flush=True)
    return out


def parse_listing(lines: list[str]) -> list[dict[str, Any]]:
    """Per list call in bench/listing.py's output: label, items, median ms, which time, CPU ms."""
    calls: list[dict[str, Any]] = []
    header: list[str] = []
    for i, line in enumerate(lines):
        match = LISTING_LINE.match(line)
        if match:
            found = match.groupdict()
            calls.append(
                {
                    "label": found["label"],
                    "items": int(found["items"]),
                    "ms": float(found["ms"]),
                    "timed": "wall",
                    "cpu_ms": float(found["cpu_ms"]),
                }
            )
        elif line.startswith("|") and not _separator(line):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if i + 1 < len(lines) and _separator(lines[i + 1]):
                header = [cell.lower() for cell in cells]
            elif header and (call := _table_call(header, cells)):
                calls.append(call)
    return calls


def _separator(line: str) -> bool:
    return line.startswith("|") and set(line.strip()) <= set("|-: ")


def _number(text: str) -> float | None:
    match = re.match(r"^-?[\d,]+(\.\d+)?", text)
    return float(match.group(0).replace(",", "")) if match else None


def _table_call(header: list[str], cells: list[str]) -> dict[str, Any] | None:
    def column(*words: str) -> int | None:
        for i, name in enumerate(header):
            if all(word in name for word in words):
                return i
        return None

    timed_at = column("median", "server") or column("median", "wall") or column("median", "ms")
    items_at = column("items")
    if timed_at is None or timed_at >= len(cells) or _number(cells[timed_at]) is None:
        return None
    cpu_at = column("cpu")
    return {
        "label": cells[0],
        "items": int(_number(cells[items_at]) or 0) if items_at is not None and items_at < len(cells) else 0,
        "ms": _number(cells[timed_at]),
        "timed": "server" if "server" in header[timed_at] else "wall",
        "cpu_ms": _number(cells[cpu_at]) if cpu_at is not None and cpu_at < len(cells) else None,
    }
