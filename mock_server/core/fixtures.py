"""Seed data: YAML files (or directories of them), one top-level key per vendor.

Each vendor declares a JSON Schema for its section and the rules a schema cannot say (``Unique``
ids, ``Ref`` erences from one record to another); every problem names the file, its line, the path
inside it and the reason, and all problems are reported at once. Sections from several files are
merged: lists under the same collection are concatenated, in file order (a reference may point into
another file). A missing path, or a directory without fixture files, is refused: the banner and
``/__admin/vendors`` must never list credentials that no fixture defines.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_server.core import yamltext
from mock_server.core.fast_schema import compile_valid_check

FIXTURE_SUFFIXES = (".yaml", ".yml")


class FixtureError(ValueError):
    """Fixture files that cannot be used: one line per problem, ``file:line: path: reason``."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems = list(problems) or [message]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Unique:
    """Records at ``items`` (a path with ``*``) have distinct ``keys``; within one parent when ``scope``
    is the number of leading ``*`` that group them (a patient id is unique within its tenant)."""

    items: str
    keys: tuple[str, ...]
    noun: str
    scope: int = 0


@dataclass(frozen=True)
class Ref:
    """``keys`` of the records at ``items`` (each element, for a list) name a record at ``target``
    with those ``target_keys``, within the same ``scope`` (leading ``*`` shared with the target)."""

    items: str
    keys: tuple[str, ...]
    target: str
    target_keys: tuple[str, ...]
    noun: str
    scope: int = 0


FixtureRule = Unique | Ref


def fixture_files(paths: Iterable[Path]) -> list[Path]:
    """Files named by ``paths`` (directories expanded, sorted). Raises: FixtureError naming each bad path."""
    files: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in FIXTURE_SUFFIXES and p.is_file())
            if not found:
                problems.append(f"{path}: no fixture files (*.yaml, *.yml) in this directory")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: no such fixture file or directory")
    if problems:
        raise FixtureError(problems[0], problems)
    return files


def _where(parts: Iterable[object]) -> str:
    return "/".join(str(part) for part in parts) or "(top level)"


@dataclass(frozen=True)
class _Origin:
    file: Path
    document: yamltext.Document
    index: int | None  # position in the file's list (None: not a concatenated list item)

    def locate(self, path: list[object]) -> str:
        """``file:line: path`` of a path in the merged data whose third part is this item's index."""
        local = list(path)
        if self.index is not None and len(local) > 2:
            local[2] = self.index
        line = self.document.line_of(local)
        return f"{self.file}:{line}: {_where(local)}" if line else f"{self.file}: {_where(local)}"


def _read(file: Path) -> yamltext.Document:
    try:
        return yamltext.load(yamltext.decode(file.read_bytes()))
    except yamltext.YamlProblem as exc:
        where = f"{file}:{exc.line}" if exc.line else str(file)
        raise FixtureError(f"{where}: (top level): {exc.reason}") from None
    except OSError as exc:
        raise FixtureError(f"{file}: (file): cannot be read: {exc.strerror or exc}") from None


def _validator(schema: Mapping[str, Any]) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema)


def _valid_check(schema: Mapping[str, Any]) -> Callable[[Any], bool]:
    try:
        return compile_valid_check(dict(schema))
    except ValueError:  # a schema jsonschema-rs cannot take: jsonschema alone
        return lambda _: False


def load_fixtures(
    paths: Iterable[Path],
    schemas: Mapping[str, Mapping[str, Any]],
    rules: Mapping[str, Sequence[FixtureRule]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Read, validate, merge and cross-check fixture files.

    Raises: FixtureError listing every problem: file, line, the path inside it and the reason.
    """
    merged: dict[str, dict[str, Any]] = {}
    origins: dict[tuple[str, str], list[_Origin]] = {}
    # Valid sections (the rule) skip jsonschema, which is imported only for the messages of a broken one.
    valid = {name: _valid_check(schema) for name, schema in schemas.items()}
    problems: list[str] = []
    for file in fixture_files(paths):
        try:
            document = _read(file)
        except FixtureError as exc:
            problems += exc.problems
            continue
        data = document.data if document.data is not None else {}
        if not isinstance(data, dict):
            problems.append(f"{file}: (top level): expected a mapping of vendor name to its fixtures")
            continue
        for vendor, section in data.items():
            if vendor not in valid:
                close = difflib.get_close_matches(str(vendor), sorted(valid), n=1)
                hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(valid))})"
                problems.append(f"{_Origin(file, document, None).locate([vendor])}: unknown vendor{hint}")
                continue
            found = [] if valid[vendor](section) else _validator(schemas[vendor]).iter_errors(section)
            errors = sorted(found, key=lambda e: list(map(str, e.path)))
            for error in errors:
                location = _Origin(file, document, None).locate([vendor, *error.absolute_path])
                problems.append(f"{location}: {error.message}")
            if errors:
                continue
            target = merged.setdefault(vendor, {})
            for collection, value in (section or {}).items():
                if isinstance(value, list):
                    target.setdefault(collection, []).extend(value)
                    origins.setdefault((vendor, collection), []).extend(
                        _Origin(file, document, index) for index in range(len(value))
                    )
                elif isinstance(value, dict):
                    target.setdefault(collection, {}).update(value)
                else:
                    target[collection] = value
    if not problems:
        for vendor_rules in (rules or {}).values():
            for rule in vendor_rules:
                problems += _check(rule, merged, origins)
    if problems:
        raise FixtureError(problems[0], problems)
    return merged


def _walk(node: Any, parts: list[str], path: list[object]) -> Iterator[tuple[list[object], Any]]:
    if not parts:
        yield path, node
        return
    head, rest = parts[0], parts[1:]
    if head == "*" and isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, rest, [*path, index])
    elif isinstance(node, dict) and head in node:
        yield from _walk(node[head], rest, [*path, head])


def _records(pattern: str, merged: Mapping[str, Any]) -> Iterator[tuple[list[object], Mapping[str, Any]]]:
    for path, record in _walk(merged, pattern.split("/"), []):
        if isinstance(record, dict):
            yield path, record


def _group(path: list[object], pattern: str, scope: int) -> tuple[object, ...]:
    stars = [value for part, value in zip(pattern.split("/"), path, strict=False) if part == "*"]
    return tuple(stars[:scope])


def _key(record: Mapping[str, Any], keys: tuple[str, ...]) -> list[tuple[Any, ...]]:
    if any(key not in record for key in keys):
        return []
    *fixed, last = (record[key] for key in keys)
    values = last if isinstance(last, list) else [last]
    return [(*fixed, value) for value in values]


def _locate(path: list[object], field: str, origins: Mapping[tuple[str, str], list[_Origin]]) -> str:
    full = [*path, field]
    items = origins.get((str(path[0]), str(path[1]))) if len(path) > 2 else None
    if items and isinstance(path[2], int) and path[2] < len(items):
        return items[path[2]].locate(full)
    return _where(full)


def _shown(key: tuple[Any, ...]) -> str:
    return repr(key[0]) if len(key) == 1 else "(" + ", ".join(map(repr, key)) + ")"


def _check(
    rule: FixtureRule, merged: Mapping[str, Any], origins: Mapping[tuple[str, str], list[_Origin]]
) -> list[str]:
    problems: list[str] = []
    if isinstance(rule, Unique):
        seen: dict[tuple[Any, ...], list[object]] = {}
        for path, record in _records(rule.items, merged):
            for key in _key(record, rule.keys):
                scoped = (_group(path, rule.items, rule.scope), key)
                if scoped in seen:
                    first = _locate(seen[scoped], rule.keys[-1], origins)
                    problems.append(
                        f"{_locate(path, rule.keys[-1], origins)}: duplicate {rule.noun} {_shown(key)} "
                        f"(first at {first})"
                    )
                else:
                    seen[scoped] = path
        return problems
    known: dict[tuple[object, ...], set[tuple[Any, ...]]] = {}
    for path, record in _records(rule.target, merged):
        known.setdefault(_group(path, rule.target, rule.scope), set()).update(_key(record, rule.target_keys))
    for path, record in _records(rule.items, merged):
        group = known.get(_group(path, rule.items, rule.scope), set())
        for key in _key(record, rule.keys):
            if key in group:
                continue
            names = sorted(str(k[-1]) for k in group if k[:-1] == key[:-1])
            close = difflib.get_close_matches(str(key[-1]), names, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(
                f"{_locate(path, rule.keys[-1], origins)}: {_shown(key)} names no {rule.noun} under "
                f"{rule.target}{hint}"
            )
    return problems
