"""``python -m mock_server.testing.bench``: how long the pytest fixture takes to give you a sandbox.

Run it in a fresh interpreter (imports are part of the cost). Prints one line per phase:
importing the app (starlette, uvicorn; moto, FastAPI and the like load with the first request that
needs them), building it (fixtures loaded, buckets made, scenario files read), starting the in-process
server until ``/__admin/health`` answers, one ``POST /__admin/reset`` (what every test using
``vendor_sandbox`` pays) and stopping.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mock_server.core.clock import Clock

T = TypeVar("T")
_clock = Clock()  # real time, unshifted


def timed(phase: str, results: dict[str, float], action: Callable[[], T]) -> T:
    """Run ``action``, store its wall time in milliseconds under ``results[phase]``, return its value."""
    started = _clock.monotonic()
    value = action()
    results[phase] = (_clock.monotonic() - started) * 1000
    return value


def measure(fixtures: Sequence[Path] = (), resets: int = 20) -> dict[str, Any]:
    """Milliseconds of each start-up phase (import, create_app, start until healthy, median reset,
    stop) and ``first_test_ready``, rounded to 0.1 ms."""
    results: dict[str, float] = {}

    def load() -> Any:
        import mock_server.app  # noqa: F401 - the import is what is measured
        from mock_server.testing import admin_client, server

        return server.LiveServer, admin_client.AdminClient

    live_server, admin_client = timed("import", results, load)
    from mock_server.settings import Settings

    settings = Settings(fixtures=tuple(fixtures)) if fixtures else Settings()
    server = timed("create_app", results, lambda: live_server(settings))
    admin = admin_client(server.url)
    timed("start_until_healthy", results, lambda: (server.start(), admin.health()))
    samples = []
    for _ in range(resets):
        timed("reset", results, admin.reset)
        samples.append(results["reset"])
    results["reset"] = statistics.median(samples)
    timed("stop", results, server.stop)
    results["first_test_ready"] = (
        results["import"] + results["create_app"] + results["start_until_healthy"] + results["reset"]
    )
    return {phase: round(value, 1) for phase, value in results.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mock_server.testing.bench``: print the start-up figures; exit code 0."""
    parser = argparse.ArgumentParser(prog="python -m mock_server.testing.bench", description=__doc__)
    parser.add_argument("--fixtures", type=Path, action="append", default=[], help="fixture files to load")
    parser.add_argument("--resets", type=int, default=20, help="resets to take the median of")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    results = measure(args.fixtures, args.resets)
    if args.json:
        print(json.dumps(results))
    else:
        labels = {
            "import": "import the app stack",
            "create_app": "create_app (fixtures, buckets, specs)",
            "start_until_healthy": "start server, first health answer",
            "reset": "POST /__admin/reset (median)",
            "stop": "stop server",
            "first_test_ready": "first test ready (import+create+start+reset)",
        }
        for phase, label in labels.items():
            print(f"{label:<48} {results[phase]:>8.1f} ms")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
