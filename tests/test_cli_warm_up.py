"""``mock-server serve`` warms the vendors up (``Vendor.warm_up``) in the background, once its first
request has been answered and none is in flight, and only once."""

from __future__ import annotations

import asyncio
import threading

import uvicorn

from mock_server.cli import SandboxServer, warm_up
from mock_server.settings import Settings
from mock_server.vendors import available_vendors


def _server(calls: list[str], done: threading.Event) -> SandboxServer:
    def step() -> None:
        calls.append(threading.current_thread().name)
        done.set()

    return SandboxServer(uvicorn.Config(app=lambda *_: None), Settings(), [step])


def test_warm_up_waits_for_an_answered_request_and_runs_once() -> None:
    calls: list[str] = []
    done = threading.Event()
    server = _server(calls, done)

    async def ticks() -> None:
        await server.on_tick(1)  # nothing asked yet
        server.server_state.total_requests = 1
        server.server_state.tasks.add(asyncio.ensure_future(asyncio.sleep(0)))
        await server.on_tick(2)  # one in flight
        assert not done.is_set() and calls == []
        await asyncio.gather(*server.server_state.tasks)
        server.server_state.tasks.clear()
        await server.on_tick(3)
        assert done.wait(10)
        await server.on_tick(4)

    asyncio.run(ticks())
    assert calls == ["warm-up"]


def test_a_failing_step_does_not_stop_the_others() -> None:
    ran: list[int] = []

    def broken() -> None:
        raise RuntimeError("no")

    warm_up([broken, lambda: ran.append(1)])
    assert ran == [1]


def test_decoda_and_storage_declare_their_warm_up() -> None:
    vendors = available_vendors()
    assert vendors["decoda"].warm_up is not None and vendors["storage"].warm_up is not None
