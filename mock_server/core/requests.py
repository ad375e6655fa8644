"""Request plumbing every vendor shares: the sandbox of a request and small bodies read with a cap.

Vendors differ only in the errors they answer, so each passes its own: ``too_large(limit)`` for a
body over ``limit`` bytes (raised while streaming, before the rest is read) and ``malformed(exc)``
for a body that is not JSON. Both return the vendor's ``SandboxError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import HTTPConnection, Request

from mock_server.core import jsontext
from mock_server.core.bodies import read_json_bytes
from mock_server.core.errors import BodyTooLarge, SandboxError
from mock_server.core.sandbox import Sandbox

CLIENT_GONE = "ClientDisconnect: the client closed the connection before the request ended"
"""The journal's ``error`` for a request whose client went away before sending all of its body."""

TooLarge = Callable[[int], SandboxError]
Malformed = Callable[[Exception], SandboxError]


def sandbox_of(request: HTTPConnection) -> Sandbox:
    """The :class:`Sandbox` serving ``request``: its session's (put in the scope state by the session
    layer, see ``mock_server.sessions``), else the one the app was built with (``app.state.sandbox``)."""
    sandbox = request.scope.get("state", {}).get("sandbox")
    return sandbox if sandbox is not None else request.app.state.sandbox


async def read_body(request: Request, limit: int, too_large: TooLarge) -> bytes:
    """The whole body (JSON or form), at most ``limit`` bytes.

    Raises: ``too_large(limit)`` as soon as more than ``limit`` bytes have arrived.
    """
    try:
        return await read_json_bytes(request.stream(), limit)
    except BodyTooLarge as exc:
        raise too_large(limit) from exc


def parse_json(raw: bytes, malformed: Malformed) -> Any:
    """``raw`` parsed as UTF-8 JSON (duplicate keys and depth handled by ``core.jsontext``).

    Raises: ``malformed(exc)`` for invalid UTF-8 or JSON.
    """
    try:
        return jsontext.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise malformed(exc) from exc


async def read_json(request: Request, limit: int, too_large: TooLarge, malformed: Malformed) -> Any:
    """The body parsed as JSON, at most ``limit`` bytes. Raises: ``too_large``, ``malformed``."""
    return parse_json(await read_body(request, limit, too_large), malformed)
