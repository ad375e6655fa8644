"""Cost of the journal and the scenario decision over Redis against the in-process ones.

    .venv/bin/python bench/shared_state.py [requests]

Starts its own redis-server; prints microseconds per call and round trips (packets sent to Redis) per
call. Figures only: nothing here is asserted.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from redis.connection import Connection

from mock_server.core.journal import Journal
from mock_server.core.shared import SharedState, connect
from mock_server.core.shared_journal import SharedJournal
from mock_server.testing.redis_server import RedisServer

SENT = [0]
_send = Connection.send_packed_command


def _counting(self: Connection, command: Any, check_health: bool = True) -> None:
    SENT[0] += 1
    _send(self, command, check_health)


Connection.send_packed_command = _counting  # type: ignore[method-assign]


def fields(number: int) -> dict[str, Any]:
    return dict(
        timestamp="2026-01-01T00:00:00.000Z",
        realTime="2026-01-01T00:00:00.000Z",
        method="PUT",
        path=f"/sandbox-uploads/reports/{number}.pdf",
        query_string="X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + "a" * 64,
        headers=[("host", "127.0.0.1:8080"), ("content-type", "application/pdf"), ("user-agent", "bench")],
        vendor="storage",
        operation="storage.putObject",
        correlationId=uuid.uuid4().hex,
        status=200,
        durationMs=1.5,
        response_headers=[("etag", '"abc"'), ("content-length", "0")],
        request_body=(b"%PDF-1.7" * 64, 512),
        response_body=(b"", 0),
    )


def measure(label: str, count: int, call: Callable[[int], object]) -> None:
    call(-1)  # warm (loads scripts)
    SENT[0] = 0
    started = time.perf_counter()
    for number in range(count):
        call(number)
    elapsed = time.perf_counter() - started
    print(f"{label:<48} {elapsed / count * 1e6:8.1f} us/call {SENT[0] / count:5.2f} round trips/call")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with RedisServer() as server:
        state = SharedState(connect(server.url), "bench")
        local, shared = Journal(1000), SharedJournal(state, 1000)
        measure("journal.record, in process", count, lambda n: local.record(**fields(n)))
        measure("journal.record, Redis", count, lambda n: shared.record(**fields(n)))

        def queued(number: int) -> None:
            with state.writes():
                key = state.key("records")
                state.write(lambda pipe: pipe.hset(key, str(number), b"x"), {(key, str(number)): b"x"})
                shared.record(**fields(number))

        measure("journal.record + a queued write, Redis", count, queued)
        measure("journal.entries(limit=100) summaries, in process", 50, lambda n: local.entries(limit=100))
        measure(
            "journal.entries(limit=100) as_dict, in process",
            50,
            lambda n: [e.as_dict() for e in Journal.entries(local, limit=100)],
        )
        measure("journal.entries(limit=100) summaries, Redis", 50, lambda n: shared.entries(limit=100))
        measure(
            "journal.entries(limit=100) as_dict, Redis",
            50,
            lambda n: [e.as_dict() for e in shared.entries(limit=100)],
        )
        engines(count, state)
        state.clear()


def engines(count: int, state: SharedState) -> None:
    """One decision for a matching request: in process, over Redis with a counted rule (the Lua
    script) and with a rule that needs no counter (queued with the request's writes)."""
    from mock_server.app import create_app
    from mock_server.scenarios.matching import RequestFacts
    from mock_server.scenarios.shared_engine import SharedScenarioEngine
    from mock_server.settings import Settings

    app = create_app(Settings(default_scenarios=False))
    sandbox = app.state.sandbox
    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/sandbox-uploads/a.pdf",
        "query_string": b"",
        "headers": [],
        "state": {"vendor": "storage", "operation": "storage.putObject"},
    }
    rules = {
        "counted": "{match: {operation: storage.putObject}, times: 1000000000, respond: 503}",
        "certain": "{match: {operation: storage.putObject}, respond: 503}",
    }
    for kind, rule in rules.items():
        document = f"scenarios:\n  - name: {kind}\n    description: bench\n    rules:\n      - {rule}\n"
        for label, engine in (
            ("in process", sandbox.scenarios),
            ("Redis", SharedScenarioEngine(sandbox, shared=state)),
        ):
            engine.clear()
            engine.add(document)
            facts = RequestFacts(scope)

            def decide(number: int, engine: Any = engine, facts: RequestFacts = facts) -> None:
                with state.writes():
                    candidates, _ = engine._indexes.select(engine._candidates(facts), facts)
                    assert engine._decide(candidates, facts) is not None

            # The certain rule's counts are sent by the flush of the request's writes (its one trip).
            measure(f"scenario decision, {kind} rule, {label}", count, decide)
    sandbox.close()


if __name__ == "__main__":
    main()
