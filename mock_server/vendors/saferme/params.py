"""Rails' request parameters from form bodies: ``file_attachment[key]=...`` as Rack nests them.

SaferMe is a Rails app, so a v4 endpoint that takes ``{"file_attachment": {"key": ...}}`` as JSON
takes the same parameters form-encoded (``application/x-www-form-urlencoded``) or as
``multipart/form-data`` text parts. Rack's ``normalize_params`` rules, restricted to what those
bodies carry: ``a[b][c]=v`` nests hashes, a trailing ``[]`` collects a list, the last value of a
repeated name wins; a name used both as a value and as a hash is Rack's ``ParameterTypeError``
(400). Values stay strings; file parts become ``{"filename": ...}`` (never a valid string value).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from mock_server.core.bodies import read_json_bytes
from mock_server.core.errors import BodyTooLarge
from mock_server.vendors.saferme.errors import BadRequest, PayloadTooLarge

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FIELDS = 1000
_NAME = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def is_form(request: Request) -> bool:
    return media_type(request) in FORM_TYPES


def nest(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Rack-style nesting of flat ``(name, value)`` pairs. Raises: BadRequest on a type conflict."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        match = _NAME.match(name)
        keys = [match.group(1), *_SEGMENT.findall(match.group(2))] if match else [name]
        node: dict[str, Any] = root
        for position, key in enumerate(keys[:-1]):
            if key == "":  # "a[][b]" (lists of hashes) is not something these bodies need
                raise BadRequest(f"Invalid parameter name: {name}")
            wants_list = keys[position + 1] == "" and position + 1 == len(keys) - 1
            child = node.setdefault(key, [] if wants_list else {})
            if wants_list and isinstance(child, list):
                child.append(value)
                break
            if not isinstance(child, dict):
                raise BadRequest(f"Invalid parameter name: {name} (expected a Hash)")
            node = child
        else:
            if keys[-1] == "" or isinstance(node.get(keys[-1]), dict | list):
                raise BadRequest(f"Invalid parameter name: {name}")
            node[keys[-1]] = value
    return root


async def _replay(raw: bytes) -> AsyncIterator[bytes]:
    yield raw


async def read_form(request: Request, limit: int) -> dict[str, Any]:
    """The form body as nested parameters.

    Raises: PayloadTooLarge (over ``limit`` bytes, while streaming), BadRequest (bad encoding,
    malformed multipart, a name conflict).
    """
    try:
        raw = await read_json_bytes(request.stream(), limit)
    except BodyTooLarge as exc:
        raise PayloadTooLarge(f"The request body exceeds {limit} bytes.") from exc
    if media_type(request) == "application/x-www-form-urlencoded":
        try:
            pairs: list[tuple[str, Any]] = parse_qsl(
                raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest("Invalid form-encoded body.") from exc
        return nest(pairs)
    try:
        form = await MultiPartParser(request.headers, _replay(raw), max_fields=MAX_FIELDS).parse()
    except (MultiPartException, UnicodeDecodeError) as exc:
        raise BadRequest("Invalid multipart body.") from exc
    pairs = [
        (name, {"filename": value.filename} if isinstance(value, UploadFile) else value)
        for name, value in form.multi_items()
    ]
    await form.close()
    return nest(pairs)
