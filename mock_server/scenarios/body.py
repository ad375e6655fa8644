"""Reading a request body for matching without taking it from the vendor.

Only called when a loaded rule can only be decided by the body. At most ``BODY_CAP`` bytes are
read (a larger declared Content-Length is not read at all); everything read is replayed, message
by message, to the app through ``ReplayReceive``, so uploads stream on untouched.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Message, Receive

from mock_server.core import jsontext
from mock_server.core.bodies import declared_length
from mock_server.core.errors import SandboxError
from mock_server.core.multipart import Limits, parse_multipart
from mock_server.scenarios.matching import MISSING, RequestFacts

BODY_CAP = 1024 * 1024


class ReplayReceive:
    """A ``receive`` that first hands back messages already read, then reads on."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.pending: deque[Message] = deque()

    async def __call__(self) -> Message:
        if self.pending:
            return self.pending.popleft()
        return await self.receive()


async def buffer_body(facts: RequestFacts, replay: ReplayReceive, cap: int = BODY_CAP) -> bytes | None:
    """The whole body when it fits in ``cap`` bytes, else None; what was read is queued for replay."""
    declared = declared_length(facts.header("content-length"))
    if declared is not None and declared > cap:
        return None
    messages: list[Message] = []
    size, complete = 0, False
    while True:
        message = await replay.receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            complete = size <= cap
            break
        if size > cap:
            break
    replay.pending.extend(messages)
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request") if complete else None


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def load_body_facts(facts: RequestFacts, replay: ReplayReceive, cap: int = BODY_CAP) -> None:
    """Fill ``facts.json_body`` / ``facts.form_body`` from the body, when it is JSON or a form and fits."""
    content_type = (facts.header("content-type") or "").lower()
    media = content_type.split(";", 1)[0].strip()
    is_json = media == "application/json" or media.endswith("+json")
    is_form = media in {"multipart/form-data", "application/x-www-form-urlencoded"}
    if not (is_json or is_form):
        facts.form_body = {}
        return
    body = await buffer_body(facts, replay, cap)
    if body is None:
        return
    if is_json:
        facts.json_body = _json(body)
        facts.form_body = {}
    elif media == "application/x-www-form-urlencoded":
        fields: dict[str, list[str]] = {}
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            fields.setdefault(name, []).append(value)
        facts.form_body = fields
    else:
        facts.form_body = await _multipart_fields(body, facts.header("content-type"), cap)


def _json(body: bytes) -> Any:
    try:
        return jsontext.loads(body)
    except ValueError:
        return MISSING


async def _multipart_fields(body: bytes, content_type: str | None, cap: int) -> dict[str, list[str]] | None:
    """Text fields by name; a file part's value is its file name. None when the body is not valid."""
    try:
        form = await parse_multipart(_once(body), content_type, Limits(max_total_bytes=cap))
    except SandboxError:
        return None
    try:
        fields: dict[str, list[str]] = {}
        for name, value in form.fields:
            fields.setdefault(name, []).append(value)
        for part in form.files:
            fields.setdefault(part.name, []).append(part.filename)
        return fields
    finally:
        form.close()
