"""The sandbox's error base class.

Code raises an exception named after the vendor's error code; each vendor's ``render`` turns it into
the vendor's native body. Handlers never build error responses by hand.
"""

from __future__ import annotations

from collections.abc import Mapping


class SandboxError(Exception):
    """A refusal with an HTTP status, a machine code, a human message and optional headers.

    Vendors subclass it (one class per documented error) and set ``status``/``code``.
    ``details`` carries structured extras a renderer may use (e.g. the failing field).
    """

    status: int = 500
    code: str = "server-error"
    default_message: str = "The server encountered an unexpected error."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        **details: object,
    ) -> None:
        self.message = message if message is not None else self.default_message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.headers = dict(headers or {})
        self.details = details
        super().__init__(self.message)


class BodyTooLarge(SandboxError):
    """A streamed body went past its cap; raised while reading, before the rest is read."""

    status = 413
    code = "body-too-large"

    def __init__(self, limit: int, received: int, declared: int | None = None) -> None:
        self.limit = limit
        self.received = received
        self.declared = declared
        super().__init__(f"body exceeds {limit} bytes")


class MalformedBody(SandboxError):
    """A body that cannot be parsed (broken multipart, truncated upload, bad encoding)."""

    status = 400
    code = "malformed-body"
