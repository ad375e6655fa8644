"""QUBS credentials: OAuth client credentials issuing HS256 JWTs, and bearer checks scoped to domains.

Tokens are JWTs signed with a secret generated per sandbox (regenerated on every reset), carrying
``client_id`` and the ``domains`` the client may use; they expire on the sandbox clock. Static
fixture tokens (``qubs-dev-token``) are accepted as-is and never expire.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from mock_server.core.sandbox import Sandbox
from mock_server.core.tokens import decode_hs256, encode_hs256
from mock_server.vendors.qubs.errors import (
    Forbidden,
    InvalidClient,
    InvalidRequest,
    Unauthorized,
    UnsupportedGrantType,
)
from mock_server.vendors.qubs.limits import LIMITS

VENDOR = "qubs"
ISSUER = "vendor-sandbox/qubs"
TOKEN_LIFETIME = LIMITS.token_seconds
BEARER_CHALLENGE = 'Bearer realm="qubs"'


@dataclass(frozen=True)
class Principal:
    """Who is calling: the OAuth client, its display name and the domains its token covers."""

    client_id: str
    name: str
    domains: tuple[str, ...]

    def user_summary(self) -> dict[str, str]:
        return {"userId": self.client_id, "displayName": self.name}


def _signing_key(sandbox: Sandbox) -> bytes:
    key = sandbox.store.get(VENDOR, "*", "signing-key", "hs256")
    if key is None:  # fixtures not loaded yet (or a foreign store): make one now
        key = sandbox.store.put(VENDOR, "*", "signing-key", "hs256", sandbox.ids.token(48))
    return str(key).encode("utf-8")


def new_signing_key(sandbox: Sandbox) -> None:
    sandbox.store.put(VENDOR, "*", "signing-key", "hs256", sandbox.ids.token(48))


def encode_jwt(sandbox: Sandbox, claims: Mapping[str, Any]) -> str:
    """An HS256 JWT of ``claims`` signed with this sandbox's QUBS key."""
    return encode_hs256(claims, _signing_key(sandbox), kid="qubs-sandbox")


def decode_jwt(sandbox: Sandbox, token: str) -> dict[str, Any] | None:
    """The claims of a token this sandbox signed, or None (bad shape, algorithm or signature)."""
    return decode_hs256(token, _signing_key(sandbox))


# -- token endpoint ------------------------------------------------------------------------
def parse_token_form(content_type: str, raw: bytes, authorization: str | None) -> tuple[str, str]:
    """``(client_id, client_secret)`` from a client-credentials form (body or HTTP Basic).

    Raises: InvalidRequest for a non-form body or missing parameters, UnsupportedGrantType for any
    grant but client_credentials, InvalidClient when no client credentials were sent.
    """
    if content_type.split(";", 1)[0].strip().lower() != "application/x-www-form-urlencoded":
        raise InvalidRequest("Content-Type must be application/x-www-form-urlencoded.")
    try:
        form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest("The request body is not a valid form-encoded body.") from exc
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required.")
    if grant_type != "client_credentials":
        raise UnsupportedGrantType(f"Unsupported grant_type {grant_type!r}; use client_credentials.")
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
            basic_id, _, basic_secret = decoded.partition(":")
        except ValueError as exc:  # binascii.Error, UnicodeDecodeError, or non-ASCII text
            raise InvalidClient("Malformed HTTP Basic client credentials.") from exc
        client_id, client_secret = unquote(basic_id), unquote(basic_secret)
    if not client_id or not client_secret:
        raise InvalidClient("client_id and client_secret are required.")
    return client_id, client_secret


def issue_token(sandbox: Sandbox, client_id: str, client_secret: str, lifetime: float) -> dict[str, Any]:
    """The token response body for valid client credentials.

    Raises: InvalidClient for an unknown client or a wrong secret.
    """
    client = sandbox.store.get(VENDOR, "*", "client", client_id)
    known = client["clientSecret"] if client else ""
    if client is None or not hmac.compare_digest(known.encode("utf-8"), client_secret.encode("utf-8")):
        raise InvalidClient("Client authentication failed: unknown client_id or wrong client_secret.")
    issued_at = int(sandbox.clock.time())
    claims = {
        "iss": ISSUER,
        "sub": client_id,
        "client_id": client_id,
        "token_use": "access",
        "domains": list(client["domains"]),
        "iat": issued_at,
        "exp": issued_at + int(lifetime),
        "jti": sandbox.ids.uuid4(),
    }
    return {
        "access_token": encode_jwt(sandbox, claims),
        "expires_in": max(0, int(lifetime)),
        "token_type": "Bearer",
    }


# -- bearer checks -------------------------------------------------------------------------
def authenticate(sandbox: Sandbox, authorization: str | None, domain: str) -> Principal:
    """The caller behind ``Authorization: Bearer ...``, allowed to act in ``domain``.

    Raises: Unauthorized (missing, malformed, unknown or expired token), Forbidden (domain not covered).
    """
    principal = _principal(sandbox, authorization)
    if domain not in principal.domains:
        raise Forbidden(f"The bearer token is not authorized for domain '{domain}'.")
    return principal


def _principal(sandbox: Sandbox, authorization: str | None) -> Principal:
    challenge = {"WWW-Authenticate": BEARER_CHALLENGE}
    if not authorization:
        raise Unauthorized(
            "The Authorization header is missing; send 'Authorization: Bearer <token>'.", headers=challenge
        )
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthorized(
            "The Authorization header is malformed; expected 'Bearer <token>'.", headers=challenge
        )
    invalid = {"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_token"'}
    for record in sandbox.store.list(VENDOR, "*", "static-token"):
        if hmac.compare_digest(record["token"].encode("utf-8"), token.encode("utf-8")):
            return _principal_for(sandbox, record["clientId"], record["domains"])
    claims = decode_jwt(sandbox, token)
    if claims is None or not isinstance(claims.get("domains"), list) or "client_id" not in claims:
        raise Unauthorized("The bearer token is invalid.", headers=invalid)
    if not isinstance(claims.get("exp"), int) or sandbox.clock.expired(claims["exp"]):
        raise Unauthorized("The bearer token has expired; request a new token.", headers=invalid)
    return _principal_for(sandbox, str(claims["client_id"]), claims["domains"])


def _principal_for(sandbox: Sandbox, client_id: str, domains: list[str]) -> Principal:
    client = sandbox.store.get(VENDOR, "*", "client", client_id)
    name = client.get("name", client_id) if client else client_id
    return Principal(client_id, name, tuple(str(d) for d in domains))
