"""QUBS's two list conventions ("cursor endpoints return ``{items, nextToken}`` (stop when ``nextToken``
is omitted), offset endpoints return arrays (stop when count < ``take``)", the partner guide's
conventions section), over lists already in their order.

Only the page's records are returned, so the caller renders (and signs URLs for) at most one page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mock_server.vendors.qubs.errors import BadRequest

T = TypeVar("T")
BAD_TOKEN = "nextToken: is not a continuation token returned by this endpoint."


def encode_cursor(last_id: str) -> str:
    """base64url of ``{"after": <id of the last item served>}``."""
    raw = json.dumps({"after": last_id}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(token: str) -> str:
    """The id a ``nextToken`` continues after. Raises: BadRequest for a token this server did not issue."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise BadRequest(BAD_TOKEN) from exc
    if not isinstance(data, dict) or not isinstance(data.get("after"), str):
        raise BadRequest(BAD_TOKEN)
    return data["after"]


def cursor_page(
    records: Sequence[T], id_of: Callable[[T], str], page_size: int, next_token: str | None
) -> tuple[list[T], str | None]:
    """(the page after the token's item, the next token or None on the last page) of a list whose
    items are never removed (attachments), so the item a token names is always found again.

    Raises: BadRequest when the token is unreadable or names no item of this list.
    """
    start = 0
    if next_token:
        after = decode_cursor(next_token)
        start = next((i + 1 for i, record in enumerate(records) if id_of(record) == after), -1)
        if start < 0:
            raise BadRequest(BAD_TOKEN)
    page = list(records[start : start + page_size])
    more = start + page_size < len(records)
    return page, encode_cursor(id_of(page[-1])) if more else None


def offset_page(records: Sequence[T], skip: int, take: int) -> list[T]:
    """At most ``take`` records after the first ``skip`` (an empty list past the end)."""
    return list(records[skip : skip + take])


def page_body(items: list[dict[str, Any]], next_token: str | None) -> dict[str, Any]:
    """``{"items": [...], "nextToken": ...}`` with ``nextToken`` left out on the last page."""
    return {"items": items, "nextToken": next_token} if next_token else {"items": items}
