"""Run the sandbox in a background thread on a pre-bound socket (no port race), for tests."""

from __future__ import annotations

import threading
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from mock_server.app import create_app
from mock_server.cli import bind_socket
from mock_server.core.sandbox import Sandbox
from mock_server.settings import Settings
from mock_server.transport import uvicorn_config


class LiveServer:
    """``with LiveServer() as server: requests.get(server.url + "/__admin/health")``."""

    def __init__(
        self, settings: Settings | None = None, host: str = "127.0.0.1", parser: str = "httptools"
    ) -> None:
        """``parser``: uvicorn's HTTP/1.1 parser, ``httptools`` (the CLI's) or ``h11``."""
        self.settings = (settings or Settings()).replace(host=host, port=0)
        self.app: Starlette = create_app(self.settings)
        self._socket = bind_socket(host, 0)
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        # The CLI's transport settings (limits, deadlines, trusted proxies); log_config=None in there
        # leaves the host process's logging alone.
        config = uvicorn_config(self.app, self.settings, parser)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"vendor-sandbox:{self.port}",
            daemon=True,
        )

    @property
    def sandbox(self) -> Sandbox:
        """The in-process app's :class:`Sandbox` (clock, store, storage...)."""
        return self.app.state.sandbox

    def start(self) -> LiveServer:
        """Serve on the bound port in a daemon thread; returns once uvicorn is up.

        Raises: RuntimeError when the server thread exits before starting."""
        self._thread.start()
        started = threading.Event()

        def wait() -> None:
            while not self._server.started and self._thread.is_alive():
                started.wait(0.005)

        wait()
        if not self._server.started:
            raise RuntimeError("the sandbox server did not start")
        return self

    def stop(self) -> None:
        """Ask uvicorn to finish (in-flight requests get the shutdown grace) and close the socket."""
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._socket.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
