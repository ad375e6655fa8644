"""HS256 JWTs through PyJWT, with every time check left to the caller's sandbox clock.

Vendors sign their bearer tokens with a per-sandbox secret. PyJWT would check ``exp``/``iat``/``nbf``
against the wall clock, which the sandbox clock may be ahead of (``POST /__admin/clock``), so those
checks are off here and each vendor compares ``exp`` (or its own record) with ``sandbox.clock``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# PyJWT (and the cryptography package it loads) is imported with the first token, not at start-up.
ALGORITHM = "HS256"
_UNCHECKED = {
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "verify_aud": False,
    "verify_iss": False,
}


def encode_hs256(claims: Mapping[str, Any], secret: bytes, *, kid: str) -> str:
    """A compact JWT of ``claims`` signed with HMAC-SHA256 (RFC 7519), header ``{"alg","typ","kid"}``."""
    import jwt

    return jwt.encode(dict(claims), secret, algorithm=ALGORITHM, headers={"kid": kid})


def decode_hs256(token: str, secret: bytes) -> dict[str, Any] | None:
    """The claims of a token signed with ``secret`` using HS256, or None for any other token
    (bad shape, encoding, algorithm or signature). Expiry is not checked: see the module docstring."""
    import jwt

    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options=_UNCHECKED)
    except jwt.InvalidTokenError:
        return None
    return claims if isinstance(claims, dict) else None
