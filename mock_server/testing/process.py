"""Run the real ``mock-server serve`` command in a child process, for tests of the command itself
(start-up banner, logs, signals, exit codes) rather than of the API, which ``LiveServer`` covers.

    with ServerProcess(env={"MOCK_SERVER_LOG_FORMAT": "json"}) as server:
        requests.get(server.url + "/__admin/health")
        server.wait_for("stopping", after=lambda: server.send_signal(signal.SIGTERM))
    assert server.returncode == 0

Output (stdout and stderr, merged in arrival order) is collected by a reader thread, so waiting for
a line never blocks the child.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from mock_server.core.clock import Clock
from mock_server.settings import process_environment

BANNER = re.compile(r"listening on http://\[?([^\]\s]*?)\]?:(\d+)")


def _listen_address(line: str) -> tuple[str, int] | None:
    """The address from the start-up banner, in either log format."""
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if record.get("event") == "started":
            host, _, port = str(record["listen"]).rpartition(":")
            return host.strip("[]"), int(port)
        return None
    found = BANNER.search(line)
    return (found.group(1), int(found.group(2))) if found else None


class ServerProcess:
    """``python -m mock_server serve`` (or any command) as a child process, for tests where a real
    process matters (signals, exit codes, the banner). Use as a context manager."""

    def __init__(
        self,
        args: Sequence[str] = ("serve", "--port", "0"),
        env: Mapping[str, str] | None = None,
        *,
        command: Sequence[str] | None = None,
        cwd: Path | str | None = None,
        inherit_env: bool = True,
    ) -> None:
        """``command`` replaces ``python -m mock_server`` + ``args`` (e.g. a Dockerfile's ENTRYPOINT+CMD)."""
        self.command = list(command) if command is not None else [sys.executable, "-m", "mock_server", *args]
        base = (
            {k: v for k, v in process_environment().items() if not k.startswith("MOCK_SERVER_")}
            if inherit_env
            else {}
        )
        self.env = {**base, **(env or {})}
        self.cwd = cwd
        self.lines: list[str] = []
        self.host = ""
        self.port = 0
        self._changed = threading.Condition()
        self._process: subprocess.Popen[str] | None = None
        self._readers: list[threading.Thread] = []
        self._clock = Clock()

    @property
    def url(self) -> str:
        """``http://host:port`` from the banner (wildcard addresses mapped to loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def pid(self) -> int:
        """The child's process id (only once started)."""
        assert self._process is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """The child's exit code, or None while it runs."""
        return self._process.poll() if self._process is not None else None

    @property
    def output(self) -> str:
        """Everything the child printed so far (stdout and stderr, line by line)."""
        with self._changed:
            return "\n".join(self.lines)

    def start(self, timeout: float = 30) -> ServerProcess:
        """Start the child and wait for its banner (``port`` and ``url`` are then known).

        Raises: RuntimeError with the child's output when it exits or stays silent instead.
        """
        self._process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        for stream in (self._process.stdout, self._process.stderr):
            reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
            reader.start()
            self._readers.append(reader)
        line = self.wait_for(lambda text: _listen_address(text) is not None, timeout)
        address = _listen_address(line)
        assert address is not None
        self.host, self.port = address
        return self

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(
        self,
        match: str | Callable[[str], bool],
        timeout: float = 30,
        after: Callable[[], object] | None = None,
    ) -> str:
        """The first output line (from now on if ``after`` is given, which runs first) that matches.

        Raises: RuntimeError with the output so far when the child exits or ``timeout`` passes first.
        """
        test = match if callable(match) else (lambda text: match in text)
        with self._changed:
            start = len(self.lines) if after is not None else 0
        if after is not None:
            after()
        deadline = self._clock.monotonic() + timeout
        with self._changed:
            seen = start
            while True:
                for line in self.lines[seen:]:
                    if test(line):
                        return line
                seen = len(self.lines)
                remaining = deadline - self._clock.monotonic()
                exited = self._process is not None and self._process.poll() is not None
                if remaining <= 0 or (exited and not any(r.is_alive() for r in self._readers)):
                    state = f"exited with {self._process.returncode}" if exited else "still running"  # type: ignore[union-attr]
                    raise RuntimeError(
                        f"no matching output line ({state}); output:\n" + "\n".join(self.lines)
                    )
                self._changed.wait(min(remaining, 0.5))

    def send_signal(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` (default SIGTERM) to the child."""
        assert self._process is not None
        self._process.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send ``sig`` (if still running), wait for the exit and the last output; returns the exit code."""
        assert self._process is not None
        if self._process.poll() is None:
            self._process.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 30) -> int:
        """Wait for the exit (after a signal sent with ``send_signal``) and the last output."""
        assert self._process is not None
        code = self._process.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        return code

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)
        for reader in self._readers:
            reader.join(10)
        for stream in (self._process.stdout, self._process.stderr) if self._process else ():
            if stream is not None:
                stream.close()
