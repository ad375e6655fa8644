"""Conditional and ranged reads, as S3's GetObject/HeadObject answer them.

Conditions (AWS GetObject reference): If-Match false -> 412; If-Unmodified-Since false -> 412 unless
If-Match is present and true; If-None-Match matching -> 304; If-Modified-Since not later -> 304
unless If-None-Match is present and does not match. Dates S3 cannot parse are ignored, as are
If-Modified-Since dates in the future, like HTTP says. Times compare to the second.

Range (moto's ``_handle_range_header`` rules, which follow S3): one ``bytes=`` range gives 206 with
Content-Range; a range starting past the end (or ``bytes=-0``) gives 416 ``InvalidRange``; several
ranges or an unreadable header are ignored and the whole object is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

from mock_server.storage.s3_errors import InvalidRange, PreconditionFailed


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def _matches(header: str, etag: str) -> bool:
    bare = etag.strip('"')
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == "*" or candidate.strip('"') == bare:
            return True
    return False


def not_modified(headers: Mapping[str, str], etag: str, last_modified: datetime, now: datetime) -> bool:
    """True when the answer is 304 Not Modified.

    ``headers`` maps lower-case names; ``etag`` is quoted; times are timezone-aware.
    Raises: PreconditionFailed (412) naming the failed condition.
    """
    modified = last_modified.replace(microsecond=0)
    if_match = headers.get("if-match")
    if if_match is not None and not _matches(if_match, etag):
        raise PreconditionFailed(Condition="If-Match")
    unmodified_since = _date(headers.get("if-unmodified-since"))
    if if_match is None and unmodified_since is not None and modified > unmodified_since:
        raise PreconditionFailed(Condition="If-Unmodified-Since")
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return _matches(if_none_match, etag)
    modified_since = _date(headers.get("if-modified-since"))
    return modified_since is not None and modified_since <= now and modified <= modified_since


class ByteRange(NamedTuple):
    first: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.first}-{self.last}/{size}"


def byte_range(header: str | None, size: int) -> ByteRange | None:
    """The one range ``header`` asks of a ``size``-byte object, or None to send it whole.

    Raises: InvalidRange (416) with ``RangeRequested`` and ``ActualObjectSize``.
    """
    if not header or "=" not in header:
        return None
    unit, spec = header.split("=", 1)
    if unit.strip().lower() != "bytes" or "," in spec or spec.count("-") != 1:
        return None
    first_text, last_text = (part.strip() for part in spec.split("-"))
    if not (first_text.isdigit() or first_text == "") or not (last_text.isdigit() or last_text == ""):
        return None
    first = int(first_text) if first_text else None
    last = int(last_text) if last_text else None
    end = size - 1
    if (first is None and last == 0) or (first is not None and first > end):
        raise InvalidRange(RangeRequested=header, ActualObjectSize=size)
    if first is None:
        if last is None:
            return None
        return ByteRange(max(size - last, 0), end)
    if last is not None and last < first:
        return None
    return ByteRange(first, end if last is None else min(last, end))
