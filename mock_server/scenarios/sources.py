"""The scenario files an engine was started with: their last good contents and whether they changed.

Files come from ``--scenarios`` (files or directories, in the order given) and, last, the built-in
magic-id files every vendor declares (``Vendor.magic_scenarios``). A user scenario with a built-in
scenario's name replaces it. Each file is re-read only when its modification time or size changes; a
file that breaks while the server runs keeps its last good version and its error is reported (at
start-up a broken file is fatal).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mock_server.scenarios.catalog import Catalog
from mock_server.scenarios.model import Scenario, ScenarioError, load_scenario_file, scenario_files

logger = logging.getLogger("mock_server.scenarios")

Signature = tuple[tuple[str, int, int], ...]


@dataclass
class _Loaded:
    stamp: tuple[int, int]
    scenarios: list[Scenario]


class FileSet:
    """User scenario files plus the built-in ``defaults`` (loaded last, replaced by a same-named user one)."""

    def __init__(
        self, paths: tuple[Path, ...], defaults: tuple[Path, ...] = (), catalog: Catalog | None = None
    ) -> None:
        self.paths = paths
        self.catalog = catalog
        self.defaults = defaults
        self.errors: list[ScenarioError] = []
        self._loaded: dict[str, _Loaded] = {}
        self._signature: Signature = ()
        self._scenarios: list[Scenario] = []

    def copy(self) -> FileSet:
        """The same files with what was already read of them (parsed scenarios are immutable), for
        another engine: it re-reads only files that change afterwards."""
        twin = FileSet(self.paths, self.defaults, self.catalog)
        twin._loaded = dict(self._loaded)
        return twin

    def is_default(self, source: str) -> bool:
        return source in {str(path) for path in self.defaults}

    def _files(self, strict: bool) -> list[Path]:
        files: list[Path] = []
        for path in self.paths:
            try:
                files += scenario_files([path])
            except ScenarioError as error:
                if strict:
                    raise
                self.errors.append(error)
        return files + list(self.defaults)

    @staticmethod
    def _stamp(file: Path) -> tuple[int, int] | None:
        try:
            stat = file.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _current_signature(self, files: list[Path]) -> Signature:
        signature = []
        for file in files:
            stamp = self._stamp(file) or (-1, -1)
            signature.append((str(file), *stamp))
        return tuple(signature)

    def changed(self) -> bool:
        errors, self.errors = self.errors, []
        try:
            return self._current_signature(self._files(strict=False)) != self._signature
        finally:
            self.errors = errors

    def load_all(self, strict: bool = True) -> set[str]:
        """Re-read new and modified files; returns the sources whose scenarios changed.

        Raises (only when ``strict``): ScenarioError for a missing or invalid file or a duplicate name.
        """
        self.errors = []
        files = self._files(strict)
        changed: set[str] = set()
        loaded: dict[str, _Loaded] = {}
        for file in files:
            source, stamp = str(file), self._stamp(file)
            previous = self._loaded.get(source)
            if previous is not None and previous.stamp == stamp:
                loaded[source] = previous
                continue
            # The built-in files are the package's own, checked against the catalog by its tests
            # (tests/scenarios/test_scenario_magic.py), not at every start: that would read every
            # vendor's openapi.yaml, which start-up otherwise never needs.
            catalog = None if self.is_default(source) else self.catalog
            try:
                loaded[source] = _Loaded(stamp or (-1, -1), load_scenario_file(file, catalog))
            except Exception as exc:  # noqa: BLE001 - whatever a file holds, requests must keep working
                error = (
                    exc
                    if isinstance(exc, ScenarioError)
                    else ScenarioError(source, "(file)", f"cannot be loaded: {type(exc).__name__}: {exc}")
                )
                if strict:
                    raise error from None
                logger.error("scenario file not reloaded, keeping its last good version: %s", error)
                self.errors.append(error)
                if previous is not None:
                    loaded[source] = previous
                continue
            changed.add(source)
        changed |= set(self._loaded) - set(loaded)
        self._loaded = loaded
        self._signature = self._current_signature(files)
        self._scenarios = self._merge(strict)
        return changed

    def _merge(self, strict: bool) -> list[Scenario]:
        user: dict[str, Scenario] = {}
        builtin: list[Scenario] = []
        for source, entry in self._loaded.items():
            for position, scenario in enumerate(entry.scenarios):
                if self.is_default(source):
                    builtin.append(scenario)
                elif scenario.name in user:
                    error = ScenarioError(
                        source,
                        f"scenarios/{position}/name",
                        f"duplicate scenario name {scenario.name!r} (also in {user[scenario.name].source})",
                    )
                    if strict:
                        raise error
                    self.errors.append(error)
                else:
                    user[scenario.name] = scenario
        return [*user.values(), *(s for s in builtin if s.name not in user)]

    def scenarios(self) -> list[Scenario]:
        return list(self._scenarios)
