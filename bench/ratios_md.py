"""Markdown for bench/RESULTS.md: the ratios of one run (bench/ratios.py), the load average of each phase."""

from __future__ import annotations

import statistics
from typing import Any

from bench.loadavg import span

PEER_LABELS = {"prism": "Prism", "wiremock": "WireMock", "mockoon": "Mockoon", "ceiling": "ceiling"}
# The targets set on a 2-core machine shared with the load generator: for one process, and for the
# variants whose name starts "workers-" (several workers over shared state).
TARGETS = {(1, 32): "≥ 1.5× Prism", (20, 32): "≥ 1× Prism"}
WORKERS_TARGET = "≥ 2× Prism"
RULES_TARGET_US = 50.0
NOISE_US = 0.5
LISTING_TARGET_MS = 50.0


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _loads(rows: list[dict[str, Any]]) -> str:
    """Lowest–highest 1-minute load average over several driver runs."""
    summaries = [row["loadavg"] for row in rows if row.get("loadavg")]
    if not summaries:
        return "–"
    return f"{min(s['min'] for s in summaries):.2f}–{max(s['max'] for s in summaries):.2f}"


def _ratio(ours: float | None, theirs: float | None, digits: int = 2) -> str:
    if ours is None or not theirs:
        return "–"
    return f"{ours / theirs:.{digits}f}×"


def load_figures(runs: list[dict[str, Any]]) -> dict[tuple[str, int, int], dict[str, Any]]:
    """(server, items, conns) -> median req/s, p50, p99 over rounds, errors summed, the runs."""
    cells: dict[tuple[str, int, int], list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for row in runs:
        if row["kind"] != "qubs-create":
            continue
        for key, level in row.get("result", {}).get("load", {}).items():
            if key.startswith("c") and key[1:].isdigit() and level.get("rps"):
                cells.setdefault((row["server"], row["items"], int(key[1:])), []).append((row, level))
    return {
        key: {
            "rps": _median([level["rps"]["median"] for _, level in pairs]),
            "p50_ms": _median([level["p50_ms"]["median"] for _, level in pairs]),
            "p99_ms": _median([level["p99_ms"]["median"] for _, level in pairs]),
            "errors": sum(level.get("errors", 0) for _, level in pairs),
            "probe": pairs[0][0]["result"]["load"].get("probe_status"),
            "runs": [row for row, _ in pairs],
        }
        for key, pairs in cells.items()
    }


def render(r: dict[str, Any]) -> list[str]:
    c = r.get("comparison") or {}
    out = ["## Ratios (one run)", ""]
    if not c and not r.get("rules") and not r.get("listing"):
        return []
    if c.get("error"):
        out += [c["error"], ""]
    p = c.get("params")
    if p:
        out += [
            "Every server below was started, loaded and stopped by the shared peer driver "
            f"(`{c['driver']} target`) in this run, one after another: {p.get('coldstart_runs')} cold starts "
            "each for the sandbox and moto_server, then for 1 and then 20 items the sandbox, the framework's "
            f"ceiling and the peers ({p.get('rounds')} round(s)), each on a fresh process: wrk -t1 at 1 then "
            f"32 connections, {p.get('duration')} s each after {p.get('warmup')} s of unrecorded warm-up, no "
            f"reset in between. Versions: {c.get('versions') or 'none installed'}.",
            "",
            "**The peers return canned bodies.** WireMock, Prism and Mockoon answer every request with the "
            "same fixed 201 body listing one item (Prism first validates the request against its OpenAPI "
            "document), whatever the request holds. They get the same request shapes as the sandbox: the "
            "driver's `peers/attachments-request.json` (one item) and "
            "bench/data/peers-attachments-request-20.json (20 items). The sandbox gets the same bodies in "
            "QUBS's shape (bench/data/qubs-attachments-request.json, -20.json) with its bearer token, and "
            "for each one authenticates, validates the body against QUBS's OpenAPI document, stores an "
            "attachment and signs an upload URL per item. The ceiling (bench/ceiling.py) is a one-route "
            "Starlette app on the sandbox's uvicorn settings that "
            'reads the same body and answers `{"ok": true}`. The sandbox runs with `--max-records 10000000` '
            "here: the driver does not reset it between the two connection levels, and past the default cap "
            "of 100,000 records (5,000 requests of 20 items) creations answer 507. *errors* = answers other "
            "than 2xx/3xx and socket errors; a row with errors measured them too.",
            "",
        ]
    figures = load_figures(c.get("runs", []))
    if figures:
        out += _load_ratios(figures)
    out += _other_ratios(r, c)
    if figures:
        out += _load_details(figures)
    if c.get("install_s"):
        out += [
            "Installed for this run: "
            + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in c["install_s"].items()),
            "",
        ]
    for note in c.get("notes", []):
        out.append(f"- {note}")
    for row in c.get("runs", []):
        if row.get("error"):
            out.append(f"- {row['server']} ({row['kind']}, {row.get('items') or '-'}): {row['error']}")
    return [*out, ""]


def _load_ratios(figures: dict[tuple[str, int, int], dict[str, Any]]) -> list[str]:
    # The sandbox first, then each variant in the order it was given (dicts keep insertion order).
    sandboxes = list(
        dict.fromkeys(k[0] for k in figures if k[0] not in PEER_LABELS and k[0] != "moto_server")
    )
    sandboxes.sort(key=lambda name: name != "vendor-sandbox")
    others = [
        name for name in ("prism", "wiremock", "mockoon", "ceiling") if any(k[0] == name for k in figures)
    ]
    if not sandboxes:
        return ["No QUBS create figures for the sandbox (see the notes below).", ""]
    head = "| server | QUBS create upload URLs | conns | req/s |"
    for name in others:
        head += f" × {PEER_LABELS[name]} ({PEER_LABELS[name]} req/s) |"
    head += " target | load avg (1 min) |"
    out = [
        "QUBS create upload URLs: the sandbox's requests/s divided by each other server's (1.00× = as fast).",
        "",
        head,
        "|---" * (6 + len(others)) + "|",
    ]
    for sandbox in sandboxes:
        for items in (1, 20):
            for conns in sorted({k[2] for k in figures if k[0] == sandbox and k[1] == items}):
                ours = figures[(sandbox, items, conns)]
                runs = list(ours["runs"])
                errors = f" ({ours['errors']} errors)" if ours["errors"] else ""
                what = f"{items} item{'s' if items > 1 else ''}"
                line = f"| {sandbox} | {what} | {conns} | {ours['rps']:.0f}{errors} |"
                for name in others:
                    theirs = figures.get((name, items, conns))
                    if theirs is None:
                        line += " – |"
                        continue
                    runs += theirs["runs"]
                    line += f" {_ratio(ours['rps'], theirs['rps'])} ({theirs['rps']:.0f}) |"
                target = TARGETS.get((items, conns), "–")
                if sandbox.startswith("workers-") and conns == 32:
                    target = WORKERS_TARGET
                out.append(line + f" {target} | {_loads(runs)} |")
    return [*out, ""]


def _load_details(figures: dict[tuple[str, int, int], dict[str, Any]]) -> list[str]:
    out = [
        "Each server's figures (median over rounds of the driver's medians; load average = lowest–highest "
        "1-minute sample during that server's driver runs):",
        "",
        "| server | items | conns | req/s | p50 ms | p99 ms | errors | probe status | load avg (1 min) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (server, items, conns), f in sorted(figures.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
        out.append(
            f"| {server} | {items} | {conns} | {f['rps']:.0f} | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} | "
            f"{f['errors']} | {f['probe']} | {_loads(f['runs'])} |"
        )
    return [*out, ""]


def _run(c: dict[str, Any], server: str, kind: str) -> dict[str, Any]:
    return next((row for row in c.get("runs", []) if row["server"] == server and row["kind"] == kind), {})


def _other_ratios(r: dict[str, Any], c: dict[str, Any]) -> list[str]:
    out = [
        "| figure | vendor-sandbox | against | ratio | target | load avg (1 min) |",
        "|---|---|---|---|---|---|",
    ]
    sandbox = _run(c, "vendor-sandbox", "coldstart")
    moto = _run(c, "moto_server", "coldstart+upload")
    ours_cold = sandbox.get("result", {}).get("coldstart", {})
    moto_cold = moto.get("result", {}).get("coldstart", {})
    ours_s = (ours_cold.get("startup_s") or {}).get("median")
    moto_s = (moto_cold.get("startup_s") or {}).get("median")
    loads = _loads([row for row in (sandbox, moto) if row])
    if ours_s is not None:
        out.append(
            "| cold start: launch to the first 2xx on the health URL "
            f"(median of {ours_cold['startup_s']['n']}) | "
            f"{ours_s:.2f} s | moto_server {moto_s:.2f} s | {_ratio(ours_s, moto_s)} | ≤ 1× | {loads} |"
            if moto_s is not None
            else f"| cold start (median) | {ours_s:.2f} s | moto_server not measured | – | ≤ 1× | {loads} |"
        )
        ours_rss = (ours_cold.get("idle_rss_mb") or {}).get("median")
        moto_rss = (moto_cold.get("idle_rss_mb") or {}).get("median")
        if ours_rss is not None and moto_rss is not None:
            out.append(
                f"| idle RSS 3 s after the first answer | {ours_rss:.0f} MB | "
                f"moto_server {moto_rss:.0f} MB | {_ratio(ours_rss, moto_rss)} | – | {loads} |"
            )
    out += _rules_rows(r)
    out += _listing_rows(r)
    uploads = _upload_rows(r, moto)
    out += [*uploads, ""]
    if uploads:
        out += [
            "The sandbox's upload figures are from this run's `uploads` phase (bench/uploads.py: the "
            "driver's sizes, counts and RSS method, presigned PUT to sandbox-uploads, objects cleared "
            "through /__admin/reset between rounds), since the driver's own upload phase needs HeadBucket "
            "and DeleteObject, which the embedded S3 (presigned requests only) does not answer; "
            "moto_server's are from the driver's upload phase. " + _probes(r, moto),
            "",
        ]
    return out


def _rules_rows(r: dict[str, Any]) -> list[str]:
    rules = r.get("rules") or {}
    index, scan = rules.get("index") or {}, rules.get("scan") or {}
    if "added" not in index:
        return [
            f"| 100 non-matching scenario rules | failed: {index.get('error', 'not run')[:100]} | | | | |"
        ]
    against = f"a plain scan: {scan['added']:.1f} µs" if "added" in scan else "–"
    # Below the timer's resolution of a batch the difference is noise (it can even come out negative).
    noise = index["added"] < NOISE_US
    added = f"< {NOISE_US} µs" if noise else f"{index['added']:.1f} µs"
    ratio = f"< {NOISE_US / RULES_TARGET_US:.2f}×" if noise else _ratio(index["added"], RULES_TARGET_US)
    ratio += " of the target"
    if "added" in scan and not noise:
        ratio += f"; scan {scan['added'] / index['added']:.0f}× the index"
    return [
        f"| {index['rules']:.0f} non-matching scenario rules: CPU added per request "
        "(median, bench/rules.py) | "
        f"{added} ({index['base']:.1f} → {index['loaded']:.1f} µs) | {against} | {ratio} | "
        f"< {RULES_TARGET_US:.0f} µs | {span(r.get('phases', {}).get('rules'))} |"
    ]


def _listing_rows(r: dict[str, Any]) -> list[str]:
    listing = r.get("listing") or {}
    if not listing:
        return []
    if not listing.get("calls"):
        return [f"| listing 10,000 items | failed: {listing.get('error', 'no figures')[:100]} | | | | |"]
    return [
        f"| listing: {call['label']} ({call['items']:,} items; median {call['timed']} time, "
        "bench/listing.py) | "
        f"{call['ms']:.1f} ms | target | {_ratio(call['ms'], LISTING_TARGET_MS)} of the target | "
        f"< {LISTING_TARGET_MS:.0f} ms | {span(r.get('phases', {}).get('listing'))} |"
        for call in listing["calls"]
    ]


def _upload_rows(r: dict[str, Any], moto: dict[str, Any]) -> list[str]:
    seq = r.get("uploads", {}).get("sequential", {})
    conc = r.get("uploads", {}).get("concurrent", {}).get("storage_put") or {}
    theirs = moto.get("result", {}).get("upload", {})
    loads = f"{span(r.get('phases', {}).get('uploads'))} / moto_server {span(moto.get('loadavg'))}"
    out = []
    for label, ours, peer in (
        ("presigned PUT 2 MB, one at a time", seq.get("storage_put_2mb"), theirs.get("seq_2mb")),
        ("presigned PUT 25 MB, one at a time", seq.get("storage_put_25mb"), theirs.get("seq_25mb")),
    ):
        mine = ((ours or {}).get("mb_per_s") or {}).get("median")
        other = ((peer or {}).get("mb_per_s") or {}).get("median")
        if mine is None:
            continue
        versus = f"moto_server {other:.0f} MB/s (does not check signatures)" if other else "–"
        out.append(
            f"| {label} (signature verified) | {mine:.0f} MB/s | {versus} | {_ratio(mine, other)} | "
            f"no slower than before | {loads} |"
        )
    moto_conc = theirs.get("concurrent_25mb") or {}
    if conc.get("agg_mb_per_s"):
        mine, other = conc["agg_mb_per_s"]["median"], (moto_conc.get("agg_mb_per_s") or {}).get("median")
        versus = f"moto_server {other:.0f} MB/s" if other else "–"
        out.append(
            f"| 8 concurrent presigned PUTs of 25 MB: aggregate | {mine:.0f} MB/s | {versus} | "
            f"{_ratio(mine, other)} | no slower than before | {loads} |"
        )
        mine_rss = conc["peak_delta_mb"]["median"]
        other_rss = (moto_conc.get("peak_delta_mb") or {}).get("median")
        versus = f"moto_server +{other_rss:.0f} MB" if other_rss is not None else "–"
        out.append(
            f"| 8 concurrent presigned PUTs of 25 MB: peak − idle RSS | +{mine_rss:.0f} MB | {versus} | "
            f"{_ratio(mine_rss, other_rss)} | no higher than before | {loads} |"
        )
    return out


def _probes(r: dict[str, Any], moto: dict[str, Any]) -> str:
    """What a zeroed signature and a URL signed for another key got from each server."""
    ours = r.get("uploads", {}).get("sequential", {}).get("signature_probes") or {}
    theirs = moto.get("result", {}).get("upload", {})
    return (
        "A zeroed signature / a URL signed for another key got "
        f"{ours.get('tampered_signature', '–')} / {ours.get('swapped_key', '–')} from the sandbox and "
        f"{theirs.get('tampered_signature_status', '–')} / {theirs.get('swapped_key_status', '–')} "
        "from moto_server."
    )


def phases(r: dict[str, Any]) -> list[str]:
    rows = r.get("phases") or {}
    if not rows:
        return []
    out = [
        "## Load average during each phase",
        "",
        "1-minute load average sampled every 2 s while the phase ran (2 cores: above 2 means work waited "
        "for a core); the 5-minute figure at the phase's end.",
        "",
        "| phase | seconds | at start | lowest–highest | mean | at end | 5 min at end |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in rows.items():
        out.append(
            f"| {name} | {s['seconds']:.0f} | {s['start']:.2f} | {span(s)} | {s['mean']:.2f} | "
            f"{s['end']:.2f} | {s['end_5min']:.2f} |"
        )
    return [*out, ""]
