"""The object store's operations in process (``ObjectStore``) beside the shared one (``SharedObjectStore``
over a throw-away local ``redis-server``): medians per call of put/head/read/delete of a 1 KiB body, a
listing page of 1,000 keys (with the per-key look-up ``s3_api`` makes) and ``list()`` of everything.

    python bench/shared_objects.py [--objects 5000] [--repeat 200]

Printed, never asserted; each store is filled the same way first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mock_server.core.bodies import BodyWriter, SpooledBody  # noqa: E402
from mock_server.core.shared import SharedState, connect  # noqa: E402
from mock_server.storage.s3 import ObjectStore  # noqa: E402
from mock_server.storage.shared_objects import SharedObjectStore  # noqa: E402
from mock_server.testing.redis_server import RedisServer  # noqa: E402

BUCKET = "bench"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
DATA = b"x" * 1024


def body() -> SpooledBody:
    writer = BodyWriter()
    writer.write(DATA)
    return writer.finish()


def median_ms(call: Callable[[int], Any], repeat: int) -> float:
    times = []
    for index in range(repeat):
        started = time.perf_counter()
        call(index)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(store: Any, objects: int, repeat: int) -> dict[str, float]:
    store.ensure_bucket(BUCKET)
    for index in range(objects):
        store.put(BUCKET, f"k/{index:06d}", body(), content_type=None, uploaded_at=NOW)

    def page(_: int) -> None:
        entries, _, _ = store.backend.list_objects_v2(store.moto_bucket(BUCKET), "k/", None, None, None, 1000)
        for entry in entries:  # as s3_api's _list_entry
            getattr(entry, "info", None) or store.head(BUCKET, entry.name)

    return {
        "put": median_ms(
            lambda i: store.put(BUCKET, f"p/{i}", body(), content_type=None, uploaded_at=NOW), repeat
        ),
        "head": median_ms(lambda i: store.head(BUCKET, f"k/{i:06d}"), repeat),
        "read": median_ms(lambda i: store.read(BUCKET, f"k/{i:06d}"), repeat),
        "delete": median_ms(lambda i: store.delete(BUCKET, f"p/{i}"), repeat),
        "list page (1000 keys)": median_ms(page, max(3, repeat // 20)),
        "list() everything": median_ms(lambda _: store.list(), max(3, repeat // 20)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=200)
    options = parser.parse_args()
    local = ObjectStore("us-east-1", max_objects=options.objects + options.repeat + 1)
    figures = {"in-process": measure(local, options.objects, options.repeat)}
    local.close()
    with RedisServer() as redis, tempfile.TemporaryDirectory() as spool:
        state = SharedState(connect(redis.url), "bench")
        shared = SharedObjectStore(
            state, spool, "us-east-1", max_objects=options.objects + options.repeat + 1
        )
        figures["shared"] = measure(shared, options.objects, options.repeat)
        shared.purge()
    print(f"{options.objects} objects of 1 KiB; median ms per call")
    print(f"{'operation':<24}{'in-process':>12}{'shared':>12}")
    for operation in figures["shared"]:
        print(
            f"{operation:<24}{figures['in-process'][operation]:>12.3f}{figures['shared'][operation]:>12.3f}"
        )


if __name__ == "__main__":
    main()
