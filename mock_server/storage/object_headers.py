"""The headers an object keeps and gives back, as S3 does.

A PUT's headers and a POST form's fields alike store Cache-Control, Content-Disposition,
Content-Encoding, Content-Language, Expires and every ``x-amz-meta-*`` (names lower-cased, as S3
returns them); GET and HEAD send them back verbatim, with Last-Modified and ETag. A signed GET may
override six of them with ``response-*`` query parameters (the list moto's S3 responses use).

A stored value that is not printable ASCII (a form field may hold any text) goes back as one
RFC 2047 encoded word, ``=?UTF-8?B?...?=``, as S3 returns non-ASCII metadata. A ``response-*``
value a header cannot carry (CR, LF or other control characters, or text beyond ISO-8859-1) would
otherwise break the response; it is refused with 400 ``InvalidArgument`` "Header value cannot be
represented using ISO-8859-1." naming the parameter.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from email.utils import format_datetime

from mock_server.storage.s3_errors import InvalidArgument, MetadataTooLarge

STORED_HEADERS = ("cache-control", "content-disposition", "content-encoding", "content-language", "expires")
META_PREFIX = "x-amz-meta-"
MAX_METADATA_BYTES = 2048
# moto.s3.responses.ALLOWED_HEADER_OVERRIDES (as moto spells it), restated so that serving an object
# does not load moto; tests/storage/test_moto_contract.py checks the two stay equal.
ALLOWED_HEADER_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
RESPONSE_OVERRIDES = tuple(ALLOWED_HEADER_OVERRIDES)
NOT_LATIN1 = "Header value cannot be represented using ISO-8859-1."
# Control characters (CR and LF among them) end or corrupt a header line.
_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _sendable(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not _UNSENDABLE.search(value)


def _checked(name: str, value: str) -> str:
    if not _sendable(value):
        raise InvalidArgument(NOT_LATIN1, ArgumentName=name, ArgumentValue=value)
    return value


def _stored_value(value: str) -> str:
    if value.isascii() and not _UNSENDABLE.search(value):
        return value
    encoded = base64.b64encode(value.encode("utf-8", "surrogatepass")).decode("ascii")
    return f"=?UTF-8?B?{encoded}?="


def stored_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The headers an upload keeps, lower-case names to values, from header or form pairs.

    The first of a repeated name counts. Raises: MetadataTooLarge when the ``x-amz-meta-*`` names and
    values pass S3's 2 KB.
    """
    kept: dict[str, str] = {}
    for name, value in pairs:
        lower = name.lower()
        if (lower in STORED_HEADERS or lower.startswith(META_PREFIX)) and lower not in kept:
            kept[lower] = value
    size = sum(
        len(name) - len(META_PREFIX) + len(value.encode("utf-8", "surrogatepass"))
        for name, value in kept.items()
        if name.startswith(META_PREFIX)
    )
    if size > MAX_METADATA_BYTES:
        raise MetadataTooLarge(Size=size, MaxSizeAllowed=MAX_METADATA_BYTES)
    return {name: _stored_value(value) for name, value in kept.items()}


def metadata(headers: Mapping[str, str]) -> dict[str, str]:
    """The user metadata among stored headers, without the ``x-amz-meta-`` prefix."""
    return {
        name[len(META_PREFIX) :]: value for name, value in headers.items() if name.startswith(META_PREFIX)
    }


def overrides(
    query: Iterable[tuple[str, str]], allowed: Iterable[str] = RESPONSE_OVERRIDES
) -> dict[str, str]:
    """Response headers replaced by ``response-*`` parameters (the first of each counts).

    Raises: InvalidArgument naming a parameter whose value no header can carry.
    """
    names = {name: ALLOWED_HEADER_OVERRIDES[name] for name in allowed}
    chosen: dict[str, str] = {}
    for name, value in query:
        header = names.get(name)
        if header is not None and header.lower() not in chosen:
            chosen[header.lower()] = _checked(name, value)
    return chosen


def http_date(moment: datetime) -> str:
    """RFC 7231 date, e.g. ``Wed, 25 Nov 2026 22:30:00 GMT``."""
    return format_datetime(moment.replace(microsecond=0), usegmt=True)
