"""A throw-away ``redis-server`` on a free loopback port, for tests of the shared state backend.

Nothing is persisted (no RDB, no AOF); the server stops with the context. ``available()`` tells
whether a ``redis-server`` binary is on PATH (Debian's ``redis-server`` package).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from types import TracebackType

from mock_server.cli import bind_socket

STARTUP_ATTEMPTS = 500


def available() -> bool:
    """Whether a ``redis-server`` binary is on PATH."""
    return shutil.which("redis-server") is not None


class RedisServer:
    """``with RedisServer() as redis: redis.url`` -> ``redis://127.0.0.1:<port>/0``."""

    def __init__(self) -> None:
        probe = bind_socket("127.0.0.1", 0)
        self.port: int = probe.getsockname()[1]
        probe.close()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._folder = tempfile.TemporaryDirectory(prefix="sandbox-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING.

        Raises: RuntimeError when redis-server is missing, exits or never answers.
        """
        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
        self._process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._folder.name,
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(STARTUP_ATTEMPTS):
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self._process.stderr.read().decode()[:500]}")
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                client.connection_pool.disconnect()
                time.sleep(0.01)  # waiting for a child process to listen, not for a sandbox expiry
        else:
            self.stop()
            raise RuntimeError("redis-server did not answer PING")
        client.close()
        return self

    def kill(self) -> None:
        """Stop the server (SIGTERM) keeping its port and folder: ``start()`` brings up an empty one
        there again (an outage, or a restart without persistence)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()

    def stop(self) -> None:
        """Stop the server (SIGTERM) and remove its folder."""
        self.kill()
        self._folder.cleanup()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
