"""JSON text in and out: request bodies parsed so that no client text can crash a handler, and
response bodies written compactly in C.

``json.loads`` accepts two things Python code cannot use: nesting deeper than the interpreter's
recursion limit (``RecursionError``) and ``\\ud800``-style unpaired surrogates, which are valid JSON
text but cannot be encoded as UTF-8 later (in a storage key, a log line, an echoed error). Both
become ``ValueError`` here, which every vendor already answers as its own 400/422.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSONResponse

from mock_server.core.clock import iso_z

# A datetime in a body is written as ``clock.iso_z`` writes it (``2026-11-24T10:15:00Z``); ``instant``
# hands orjson only the datetimes it writes that way.
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS


def loads(raw: bytes | str) -> Any:
    """Parse a JSON body.

    Raises: ValueError (``json.JSONDecodeError`` / ``UnicodeDecodeError`` included) for text that is
    not JSON, not UTF-8, nested too deeply or holding an unpaired surrogate.
    """
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    if _may_hold_surrogate(raw) and _has_unpaired_surrogate(value):
        raise ValueError("JSON text contains an unpaired UTF-16 surrogate")
    return value


def _may_hold_surrogate(raw: bytes | str) -> bool:
    """False when parsing ``raw`` cannot have produced a lone surrogate, so the walk is skipped: it is
    ASCII (a surrogate in text, or encoded in UTF-8, -16 or -32 bytes, is not) and holds no backslash
    (which every ``\\uXXXX`` escape starts with)."""
    if isinstance(raw, str):
        return not raw.isascii() or "\\" in raw
    return not raw.isascii() or b"\\" in raw


def _has_unpaired_surrogate(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not item.isascii() and any("\ud800" <= char <= "\udfff" for char in item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON text of ``value`` (no spaces, non-ASCII unescaped), as Starlette writes it.

    orjson writes it ~25x faster than ``json.dumps`` (a 20-item upload answer: 27 -> 1 us, a 10,000-item
    listing: 28 -> 2 ms; bench/PROFILE.md). What orjson refuses (an int beyond 64 bits, a key that is
    not a string) goes through ``json.dumps``; NaN and infinities come out as ``null``; floats are
    written in their shortest form without ``+`` (``1e16``). Raises: ValueError / TypeError for what
    neither can write (a lone surrogate, an object of no JSON type).

    A value made by :func:`instant` is written as ``clock.iso_z`` text; pass datetimes only that way.
    """
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(
            value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_iso_z_or_refuse
        ).encode("utf-8")


def array(chunks: Iterable[list[Any]]) -> bytes:
    """A JSON array of every item of ``chunks``, in order, as :func:`dumps` writes the whole list.

    For long lists built item by item from stored records: each chunk is written as soon as it is built,
    while its records and strings are still in the CPU cache. Written at the end, a 10,001-item Candid
    listing's 9.8 MB took orjson ~10 ms, reading strings scattered over the heap a second time; in
    chunks of a hundred or so the whole listing takes ~7 ms less (bench/PROFILE.md).
    """
    parts = [dumps(chunk)[1:-1] for chunk in chunks if chunk]
    return b"[" + b",".join(parts) + b"]"


def instant(moment: datetime) -> datetime | str:
    """What to put in a body for ``moment`` so that :func:`dumps` writes ``iso_z(moment)``.

    The datetime itself when it is in UTC (orjson then writes it, truncated to the second, the year in
    four digits, ~8x faster than formatting it here: a 10,000-item listing saves ~4 ms), else the text.
    """
    if moment.tzinfo is UTC:
        return moment
    return iso_z(moment)


def _iso_z_or_refuse(value: Any) -> str:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return iso_z(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class JSONResponse(_StarletteJSONResponse):
    """Starlette's ``JSONResponse`` with its body written by :func:`dumps`."""

    def render(self, content: Any) -> bytes:
        """The body's bytes (see :func:`dumps`); raises what it raises."""
        return dumps(content)
