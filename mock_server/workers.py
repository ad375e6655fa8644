"""``serve --workers N``: N processes accepting on one listening socket, over one shared state.

The parent binds the socket and checks the start-up (fixtures, scenarios, the Redis server; the
first start loads the fixtures into the shared namespace), then forks the workers, which build their
own app (``create_app``: it joins the namespace) and serve until told to stop. The kernel hands each
new connection to one of them; whichever answers, the state is the same (``core/shared.py``).

The parent only supervises: SIGTERM/SIGINT are passed on to every worker, which drain in-flight
requests as a single server does (``--shutdown-grace``); a worker that dies otherwise is replaced
(as uvicorn's and gunicorn's supervisors do), and the exit is 0 once all have stopped after a signal.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Callable

from mock_server import logs
from mock_server.settings import Settings

RESTART_LIMIT = 10
"""Workers replaced in a row without one serving a request in between before giving up (exit 1)."""


class Supervisor:
    def __init__(self, settings: Settings, sock: socket.socket, worker: Callable[[], int]) -> None:
        """``worker``: what a forked child runs (builds its app and serves ``sock``); its result is the
        child's exit code."""
        self.settings = settings
        self.sock = sock
        self.worker = worker
        self.children: dict[int, int] = {}  # pid -> worker number
        self.stopping = False

    def _spawn(self, number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            for stop_signal in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(stop_signal, signal.SIG_DFL)
            code = 1
            try:
                code = self.worker()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = number

    def _stop(self, number: int, _frame: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, number)
            except ProcessLookupError:
                pass

    def run(self) -> int:
        """Fork the workers and wait for them. Returns the exit code (0 after SIGTERM/SIGINT)."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for number in range(self.settings.workers):
            self._spawn(number)
        restarts = 0
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries os.wait
                continue
            number = self.children.pop(pid, None)
            if number is None or self.stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            restarts += 1
            if restarts > RESTART_LIMIT:
                self._stop(signal.SIGTERM, None)
                logs.emit(
                    self.settings.log_format, "mock-server: workers keep dying; stopping", event="failed"
                )
                return 1
            logs.emit(
                self.settings.log_format,
                f"mock-server: worker {number} (pid {pid}) exited with {code}; starting a new one",
                event="worker-restarted",
                worker=number,
                exitCode=code,
            )
            self._spawn(number)
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, signal.SIG_IGN)
        return 0
