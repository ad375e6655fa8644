"""Run ``mock-server`` with the garbage collector's pauses written to a file (for bench/soak.py --gc-log).

    python bench/gc_trace.py GC_LOG serve --port 0 ...

Every full (generation 2) collection, and any younger one of 1 ms or more (wall time), appends one line
``<time.monotonic()> <generation> <pause ms> <objects collected> <CPU ms>``: the wall-clock pause and the
CPU time the collecting thread spent in it (the wall time also counts being descheduled on a busy
machine). The monotonic clock is the machine's, so the soak can put each pause into its request window.
Nothing else changes.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def install(path: str) -> None:
    log = open(path, "a", buffering=1)  # noqa: SIM115 - open for the life of the process
    started: list[float] = [0.0, 0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[:] = time.perf_counter(), time.thread_time()
            return
        pause = (time.perf_counter() - started[0]) * 1000
        cpu = (time.thread_time() - started[1]) * 1000
        if info["generation"] == 2 or pause >= 1.0:
            at, generation, collected = time.monotonic(), info["generation"], info["collected"]
            log.write(f"{at:.4f} {generation} {pause:.2f} {collected} {cpu:.2f}\n")

    gc.callbacks.append(callback)


if __name__ == "__main__":
    install(sys.argv[1])
    from mock_server.cli import main

    sys.exit(main(sys.argv[2:]))
