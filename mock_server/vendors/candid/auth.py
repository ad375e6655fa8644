"""Candid's credentials: OAuth client credentials -> signed JWT bearer tokens, plus static fixture tokens.

Tokens are HS256 JWTs signed with a per-sandbox secret; each is also recorded by its ``jti`` so
an admin reset revokes every issued token. Expiry is checked on the sandbox clock. Every call
except the spec and the sandbox-only routes also passes the per-IP rate limit first.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from mock_server.core.tokens import decode_hs256, encode_hs256
from mock_server.vendors.candid.errors import TokenUnauthorizedError, TooManyRequestsError
from mock_server.vendors.candid.models import GLOBAL, VENDOR, Principal
from mock_server.vendors.candid.ratelimit import RateLimiter

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox

AUDIENCE = "https://api.joincandidhealth.com"


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    organization_id: str
    user: dict[str, Any]


@dataclass(frozen=True)
class StaticToken:
    token: str
    organization_id: str
    user: dict[str, Any]


@dataclass(frozen=True)
class IssuedToken:
    jti: str
    client_id: str
    organization_id: str
    expires_at: float


@dataclass
class Runtime:
    """Per-sandbox state: the JWT signing secret and the rate limiter (written back after every change)."""

    jwt_secret: bytes
    limiter: RateLimiter


def runtime(sandbox: Sandbox) -> Runtime:
    """The sandbox's runtime record (a copy with a copying store: change it only via the helpers below)."""
    with sandbox.store.transaction():
        found = sandbox.store.get(VENDOR, GLOBAL, "runtime", "runtime")
        if found is None:  # fixtures not loaded (e.g. a bare Sandbox in a unit test)
            found = install_runtime(sandbox, RateLimiter())
    return found


def install_runtime(sandbox: Sandbox, limiter: RateLimiter) -> Runtime:
    state = Runtime(sandbox.ids.token(48).encode("ascii"), limiter)
    sandbox.store.put(VENDOR, GLOBAL, "runtime", "runtime", state)
    return state


def check_rate_limit(sandbox: Sandbox, request: Request) -> None:
    """Raises: TooManyRequestsError (with ``Retry-After``) past the per-IP limit."""
    client = request.client.host if request.client else "unknown"
    with sandbox.store.transaction():
        state = runtime(sandbox)
        limiter = state.limiter
        retry_after = limiter.hit(client, sandbox.clock.time())
        if limiter.enabled:
            sandbox.store.put(VENDOR, GLOBAL, "runtime", "runtime", state)
    if retry_after is not None:
        raise TooManyRequestsError(
            f"Too many requests: at most {limiter.requests} requests per {limiter.window_seconds:g} seconds "
            f"per IP address. Retry in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )


def configure_rate_limit(
    sandbox: Sandbox,
    *,
    requests: int | None = None,
    window_seconds: float | None = None,
    enabled: bool | None = None,
) -> RateLimiter:
    """Change the rate limit (see ``RateLimiter.configure``) and store it; returns the new limiter."""
    with sandbox.store.transaction():
        state = runtime(sandbox)
        state.limiter.configure(requests=requests, window_seconds=window_seconds, enabled=enabled)
        sandbox.store.put(VENDOR, GLOBAL, "runtime", "runtime", state)
    return state.limiter


# -- client credentials and tokens ----------------------------------------------------------------
def client_for(sandbox: Sandbox, client_id: str, client_secret: str) -> OAuthClient:
    """Raises: TokenUnauthorizedError for an unknown client or a wrong secret."""
    client: OAuthClient | None = sandbox.store.get(VENDOR, GLOBAL, "oauth_client", client_id)
    expected = client.client_secret if client is not None else "\0"
    if not hmac.compare_digest(expected.encode("utf-8"), client_secret.encode("utf-8")) or client is None:
        raise TokenUnauthorizedError("Invalid client_id or client_secret.")
    return client


def issue_token(sandbox: Sandbox, client: OAuthClient, *, issuer: str, lifetime: float) -> str:
    """A signed JWT for ``client``'s organization, valid for ``lifetime`` seconds of sandbox time."""
    now = sandbox.clock.time()
    jti = sandbox.ids.uuid4()
    claims = {
        "iss": issuer,
        "sub": f"{client.client_id}@clients",
        "aud": AUDIENCE,
        "azp": client.client_id,
        "gty": "client-credentials",
        "org_id": client.organization_id,
        "jti": jti,
        "iat": int(now),
        "exp": int(now + lifetime),
    }
    sandbox.store.put(
        VENDOR,
        GLOBAL,
        "issued_token",
        jti,
        IssuedToken(jti, client.client_id, client.organization_id, now + lifetime),
    )
    return encode_hs256(claims, runtime(sandbox).jwt_secret, kid="vendor-sandbox-candid")


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenUnauthorizedError("Missing bearer token: send 'Authorization: Bearer <access_token>'.")
    return token.strip()


def _static_principal(sandbox: Sandbox, token: str) -> Principal | None:
    for record in sandbox.store.list(VENDOR, GLOBAL, "static_token"):
        if hmac.compare_digest(record.token.encode("utf-8"), token.encode("utf-8")):
            return Principal(record.organization_id, record.user)
    return None


def _jwt_principal(sandbox: Sandbox, token: str) -> Principal:
    claims = decode_hs256(token, runtime(sandbox).jwt_secret)
    if claims is None:
        raise TokenUnauthorizedError("Invalid bearer token.")
    issued: IssuedToken | None = sandbox.store.get(VENDOR, GLOBAL, "issued_token", str(claims.get("jti")))
    if issued is None:
        raise TokenUnauthorizedError("Invalid bearer token.")
    if sandbox.clock.expired(issued.expires_at):
        raise TokenUnauthorizedError(
            "The bearer token has expired; request a new one from /api/auth/v2/token."
        )
    client: OAuthClient | None = sandbox.store.get(VENDOR, GLOBAL, "oauth_client", issued.client_id)
    if client is None:
        raise TokenUnauthorizedError("Invalid bearer token.")
    return Principal(client.organization_id, client.user, client.client_id)


def authenticate(sandbox: Sandbox, request: Request, *, rate_limited: bool = True) -> Principal:
    """Rate limit (unless ``rate_limited`` is False), then the bearer token (static or issued JWT).

    Raises: TooManyRequestsError; TokenUnauthorizedError (401) for a missing, unknown, revoked or
    expired token.
    """
    if rate_limited:
        check_rate_limit(sandbox, request)
    token = _bearer(request)
    principal = _static_principal(sandbox, token)
    if principal is not None:
        return principal
    return _jwt_principal(sandbox, token)
