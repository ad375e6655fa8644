"""Noticing scenario files edited on disk with ``watchfiles`` (the file watcher uvicorn's reloader uses).

A daemon thread waits on the operating system's change events (inotify, FSEvents, ...) for the folders
that hold the ``--scenarios`` files and marks the engine's files dirty; the engine re-reads them at the
next request (``ScenarioEngine.reload_if_changed``). Nothing is polled on the request path: a request
only reads a flag. The folder of a single file is watched rather than the file, so an editor that saves
by writing a new file and renaming it over the old one is still seen. ``on_change`` is public so tests
can deliver a change directly instead of waiting for the operating system.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

logger = logging.getLogger("mock_server.scenarios")
DEBOUNCE_MS = 100  # changes arriving together (an editor's write + rename) are delivered as one batch
STEP_MS = 50  # how often the thread looks at its stop event


class FileWatcher:
    """Watches ``paths`` (files or folders) from a daemon thread; ``take()`` says whether anything changed
    since the last call. Start with ``start()``, stop with ``close()`` (joins the thread)."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.paths = tuple(Path(path) for path in paths)
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def roots(self) -> tuple[Path, ...]:
        """The folders to watch: each folder given, and the folder of each file given (existing ones)."""
        found = {path if path.is_dir() else path.parent for path in self.paths}
        return tuple(sorted(root for root in found if root.is_dir()))

    def start(self) -> bool:
        """Start the thread; False (nothing started) when there is nothing to watch or watchfiles is
        missing, in which case the caller falls back to checking modification times."""
        roots = self.roots
        if not roots:
            return False
        try:
            from watchfiles import watch  # noqa: F401 - imported here: optional at run time
        except ImportError:
            return False
        self._dirty.set()  # anything edited before the watch began is seen by the first check
        self._thread = threading.Thread(target=self._run, args=(roots,), name="scenario-watch", daemon=True)
        self._thread.start()
        return True

    def _run(self, roots: tuple[Path, ...]) -> None:
        from watchfiles import watch

        try:
            for changes in watch(
                *roots,
                watch_filter=None,  # the engine compares modification times, so extra events cost little
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=self._stop,
                raise_interrupt=False,
            ):
                self.on_change(changes)
        except Exception:  # noqa: BLE001 - a watch that dies must not take the server with it
            logger.exception("scenario file watching stopped; files are re-checked on every request")
        finally:
            self._dirty.set()

    def on_change(self, changes: Iterable[tuple[Any, str]] = ()) -> None:
        """Mark the files dirty (what the watch thread calls with each batch of changes)."""
        self._dirty.set()

    def take(self) -> bool:
        """Whether a change was seen since the last call (and forget it)."""
        if not self._dirty.is_set():
            return False
        self._dirty.clear()
        return True

    def wait(self, timeout: float) -> bool:
        """Block until a change is seen (True) or ``timeout`` seconds pass (False); does not forget it."""
        return self._dirty.wait(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop the thread and wait for it (it looks at the stop event every ``STEP_MS``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
