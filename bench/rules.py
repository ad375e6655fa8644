"""CPU cost the scenario engine adds to one request: no rules vs 100 rules that cannot match.

The request is QUBS's create-upload-URLs route as the router leaves it (vendor, operation, path
parameters in ``scope["state"]``); the app behind the engine does nothing. ``--scan`` turns the rule
index off (every rule the route allows is tested), for the before/after ratio. Printed, never asserted.

    python bench/rules.py [--rules 100] [--n 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from admin import non_matching_document  # noqa: E402

from mock_server.app import create_app  # noqa: E402
from mock_server.settings import Settings  # noqa: E402


async def _app(scope, receive, send) -> None:  # noqa: ANN001
    return None


def _scope() -> dict:
    return {
        "type": "http",
        "method": "POST",
        "path": "/qubs/api/v1/appointments/APT1/attachments",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"content-type", b"application/json"),
            (b"authorization", b"Bearer qubs-dev-token"),
            (b"content-length", b"80"),
        ],
        "state": {
            "vendor": "qubs",
            "operation": "qubs.createAttachments",
            "route_params": {"appointmentId": "APT1"},
        },
    }


def measure(engine, n: int) -> float:  # noqa: ANN001
    """Median CPU µs per ``intercept`` over batches of 100."""

    async def run() -> list[float]:
        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        samples = []
        for _ in range(n // 100):
            started = time.process_time()
            for _ in range(100):
                await engine.intercept(_scope(), receive, None, _app)
            samples.append((time.process_time() - started) / 100 * 1e6)
        return samples

    return statistics.median(asyncio.run(run()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--scan", action="store_true", help="turn the rule index off (before)")
    args = ap.parse_args()
    engine = create_app(Settings(default_scenarios=False)).state.sandbox.scenarios
    if args.scan:
        engine._indexes.select = lambda found, facts: found
    engine.reload_interval = float("inf")
    base = measure(engine, args.n)
    engine.add(non_matching_document(args.rules))
    loaded = measure(engine, args.n)
    label = "scan" if args.scan else "index"
    print(
        f"{label}: no rules {base:.1f} µs, {args.rules} non-matching rules {loaded:.1f} µs, "
        f"added {loaded - base:.1f} µs (median CPU per request)"
    )


if __name__ == "__main__":
    main()
