"""The bench harness's own logic, without running a benchmark: request files, output parsing, the
ratios it prints and what it keeps of RESULTS.md. No timings are measured or asserted here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import peers, ratios, ratios_md, run  # noqa: E402
from bench.loadavg import LoadWatch, span  # noqa: E402

DATA = ROOT / "bench" / "data"


def _load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def test_the_peers_and_the_sandbox_get_the_same_request_shapes() -> None:
    one = _load("qubs-attachments-request.json")["items"]
    sandbox_20 = _load("qubs-attachments-request-20.json")["items"]
    peers_20 = _load("peers-attachments-request-20.json")["files"]

    assert len(one) == 1
    assert sandbox_20 == peers_20
    assert len(sandbox_20) == 20
    assert {tuple(sorted(item)) for item in sandbox_20} == {tuple(sorted(one[0]))}


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["QUBS listReportingAttachments (200, 10002 items, 4.0 MB): median 237.0 ms wall, 117.5 ms CPU"],
            [("QUBS listReportingAttachments", 10002, 237.0, "wall", 117.5)],
        ),
        (
            [
                "seeded 10000 items per list in 40 s",
                "| call | status | items in the answer | body | median server ms | median CPU ms |",
                "|---|---|---|---|---|---|",
                "| QUBS listPendingAppointments | 200 | 100 | 0.1 MB | 4.2 | 4.0 |",
                "| admin objects | 200 | 1,000 | 0.3 MB | 12.5 | 11.0 |",
            ],
            [
                ("QUBS listPendingAppointments", 100, 4.2, "server", 4.0),
                ("admin objects", 1000, 12.5, "server", 11.0),
            ],
        ),
    ],
)
def test_listing_output_is_read_in_both_forms(lines: list[str], expected: list[tuple]) -> None:
    calls = ratios.parse_listing(lines)

    assert [(c["label"], c["items"], c["ms"], c["timed"], c["cpu_ms"]) for c in calls] == expected


def test_the_rules_line_is_read() -> None:
    line = "index: no rules 2.6 µs, 100 non-matching rules 6.0 µs, added 3.4 µs (median CPU per request)"

    found = ratios.RULES_LINE.search(line)

    assert found is not None
    assert (found["base"], found["rules"], found["loaded"], found["added"]) == ("2.6", "100", "6.0", "3.4")


def _driver_run(server: str, items: int, rps: dict[int, float]) -> dict:
    load = {
        f"c{conns}": {
            "rps": {"median": value},
            "p50_ms": {"median": 1.0},
            "p99_ms": {"median": 2.0},
            "errors": 0,
        }
        for conns, value in rps.items()
    }
    load["probe_status"] = 201
    summary = {"start": 1.0, "end": 1.0, "min": 0.5, "max": 1.2, "mean": 1.0, "end_5min": 1.0, "seconds": 30}
    return {
        "server": server,
        "kind": "qubs-create",
        "items": items,
        "round": 0,
        "loadavg": summary,
        "result": {"load": load},
    }


def test_the_ratios_divide_the_sandbox_by_each_peer() -> None:
    runs = [
        _driver_run("vendor-sandbox", 1, {1: 1500, 32: 3000}),
        _driver_run("workers-2", 1, {32: 3500}),
        _driver_run("prism", 1, {1: 1000, 32: 2000}),
        _driver_run("ceiling", 1, {1: 6000, 32: 6000}),
    ]
    results = {"comparison": {"driver": "bench.py", "runs": runs, "params": {"rounds": 1}}, "phases": {}}

    text = "\n".join(ratios_md.render(results))

    assert "**The peers return canned bodies.**" in text
    assert (
        "| vendor-sandbox | 1 item | 32 | 3000 | 1.50× (2000) | 0.50× (6000) | ≥ 1.5× Prism | 0.50–1.20 |"
        in text
    )
    assert "| vendor-sandbox | 1 item | 1 | 1500 | 1.50× (1000) | 0.25× (6000) | – | 0.50–1.20 |" in text
    # Several workers over shared state are held to their own target.
    assert "| workers-2 | 1 item | 32 | 3500 | 1.75× (2000) | 0.58× (6000) | ≥ 2× Prism | 0.50–1.20 |" in text


def test_cold_start_rules_listing_and_uploads_are_given_against_their_references() -> None:
    cold = {"startup_s": {"median": 0.6, "n": 7}, "idle_rss_mb": {"median": 64}}
    moto_cold = {"startup_s": {"median": 0.4, "n": 7}, "idle_rss_mb": {"median": 75}}
    moto_upload = {
        "seq_25mb": {"mb_per_s": {"median": 200.0}},
        "concurrent_25mb": {"agg_mb_per_s": {"median": 300.0}, "peak_delta_mb": {"median": 150.0}},
    }
    runs = [
        {"server": "vendor-sandbox", "kind": "coldstart", "result": {"coldstart": cold}},
        {
            "server": "moto_server",
            "kind": "coldstart+upload",
            "result": {"coldstart": moto_cold, "upload": moto_upload},
        },
    ]
    results = {
        "comparison": {"driver": "bench.py", "runs": runs},
        "rules": {
            "index": {"base": 2.0, "rules": 100, "loaded": 7.0, "added": 5.0},
            "scan": {"added": 100.0},
        },
        "listing": {"calls": [{"label": "QUBS list", "items": 10000, "ms": 25.0, "timed": "server"}]},
        "uploads": {
            "sequential": {"storage_put_25mb": {"mb_per_s": {"median": 300.0}}},
            "concurrent": {
                "storage_put": {"agg_mb_per_s": {"median": 330.0}, "peak_delta_mb": {"median": 6.0}}
            },
        },
        "phases": {},
    }

    text = "\n".join(ratios_md.render(results))

    assert "| 0.60 s | moto_server 0.40 s | 1.50× | ≤ 1× |" in text
    assert (
        "| 5.0 µs (2.0 → 7.0 µs) | a plain scan: 100.0 µs | 0.10× of the target; scan 20× the index |" in text
    )
    assert "| 25.0 ms | target | 0.50× of the target | < 50 ms |" in text
    assert "| 300 MB/s | moto_server 200 MB/s (does not check signatures) | 1.50× |" in text
    assert "| +6 MB | moto_server +150 MB | 0.04× |" in text


def test_rules_within_noise_are_not_given_as_a_ratio() -> None:
    rules = {"index": {"base": 5.5, "rules": 100, "loaded": 5.5, "added": -0.01}, "scan": {"added": 96.7}}

    text = "\n".join(ratios_md.render({"rules": rules, "phases": {}}))

    assert "| < 0.5 µs (5.5 → 5.5 µs) | a plain scan: 96.7 µs | < 0.01× of the target |" in text


def test_a_missing_peer_is_left_out_with_no_ratio(tmp_path: Path) -> None:
    assert peers.peer_target("prism", tmp_path, tmp_path, 1) is None
    assert peers.installed(tmp_path)["wiremock"] is False


def test_an_installed_peer_gets_peers_sh_flags_on_a_free_port(tmp_path: Path) -> None:
    binary = tmp_path / "node" / "node_modules" / ".bin" / "prism"
    binary.parent.mkdir(parents=True)
    binary.write_text("")

    args = peers.peer_target("prism", tmp_path / "driver", tmp_path, 20)

    assert args is not None
    cmd = args[args.index("--cmd") + 1]
    assert cmd.startswith(f"exec {binary} mock -h 127.0.0.1 -p ")
    assert args[args.index("--load-body-file") + 1] == str(peers.PEER_REQUEST_20)
    assert len(peers.ports_of(args)) == 1


def test_a_run_keeps_the_hand_appended_part_of_the_results(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text(f"# old figures\n\n{run.KEEP_MARKER}\n\n## Soak\n\nby hand\n")

    run.write_results(results, "# new figures\n")

    assert results.read_text() == f"# new figures\n\n{run.KEEP_MARKER}\n\n## Soak\n\nby hand\n"


def test_the_load_watch_summarises_what_it_sampled() -> None:
    with LoadWatch(interval=60) as watch:
        pass

    summary = watch.summary()

    assert summary["min"] <= summary["mean"] <= summary["max"]
    assert span(summary) == f"{summary['min']:.2f}–{summary['max']:.2f}"
