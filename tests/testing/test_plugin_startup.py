"""How long the in-process fixture takes to hand out a sandbox (printed, never asserted: timings
depend on the machine). Run ``pytest -s tests/testing/test_plugin_startup.py`` to see the figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_fixture_startup_is_measured() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "mock_server.testing.bench", "--json", "--resets", "10"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures) == {
        "import",
        "create_app",
        "start_until_healthy",
        "reset",
        "stop",
        "first_test_ready",
    }
    print("\nvendor_sandbox fixture start-up (ms, fresh interpreter):")
    for phase, value in figures.items():
        print(f"  {phase:<22} {value:>8.1f}")
