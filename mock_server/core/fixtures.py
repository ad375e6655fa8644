"""Seed data: YAML files (or directories of them), one top-level key per vendor.

Each vendor declares a JSON Schema for its section; every file is validated on its own, so an error
names the file, the path inside it and the reason. Sections from several files are merged: lists
under the same collection are concatenated, in file order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match


class FixtureError(ValueError):
    """A fixture file that cannot be used: says which file, where in it and why."""


def fixture_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named by ``paths``: files as given, directories' ``*.yaml``/``*.yml`` sorted.

    Raises: FixtureError for a path that does not exist."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"})
        elif path.exists():
            files.append(path)
        else:
            raise FixtureError(f"{path}: no such fixture file or directory")
    return files


def _where(parts: Iterable[object]) -> str:
    return "/".join(str(part) for part in parts) or "(top level)"


def load_fixtures(
    paths: Iterable[Path], schemas: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Read, validate and merge fixture files.

    Raises: FixtureError naming the file, the path inside it and the reason.
    """
    merged: dict[str, dict[str, Any]] = {}
    validators = {name: Draft202012Validator(schema) for name, schema in schemas.items()}
    for file in fixture_files(paths):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise FixtureError(f"{file}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise FixtureError(f"{file}: (top level): expected a mapping of vendor name to its fixtures")
        for vendor, section in data.items():
            if vendor not in validators:
                known = ", ".join(sorted(validators))
                raise FixtureError(f"{file}: {vendor}: unknown vendor (known: {known})")
            error = best_match(validators[vendor].iter_errors(section))
            if error is not None:
                location = _where([vendor, *error.absolute_path])
                raise FixtureError(f"{file}: {location}: {error.message}")
            target = merged.setdefault(vendor, {})
            for collection, value in (section or {}).items():
                if isinstance(value, list):
                    target.setdefault(collection, []).extend(value)
                elif isinstance(value, dict):
                    target.setdefault(collection, {}).update(value)
                else:
                    target[collection] = value
    return merged
