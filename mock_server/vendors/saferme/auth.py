"""SaferMe's credentials: ``Authorization: Token token=<key>`` plus the X-AppId and X-TeamId headers
(names matched case-insensitively: the docs write ``X-AppId``, the Android SDK sends ``X-AppID``), and
the v3 Sessions API login that issues access tokens (v4 sessions: sessions.py).

Checks run in this order: token (401 ``invalid_token``), X-AppId (401 ``invalid_app_id``), X-TeamId
(403 ``forbidden``). ``X-InstallationId`` is optional since SaferMe's 2022-02-24 docs (index.md lists
only Authorization, X-AppId and X-TeamId); older clients still send it and it is accepted as it is.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from mock_server.vendors.saferme.errors import (
    AccountLocked,
    BadCredentials,
    Forbidden,
    InvalidAppId,
    InvalidToken,
)
from mock_server.vendors.saferme.models import GLOBAL, VENDOR, Credential, User, settings_of

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox

# Rails' ActionController::HttpAuthentication::Token: "Token token=abc" or 'Token token="abc"',
# optionally followed by more "name=value" pairs separated by ",", ";" or tabs.
_SCHEME = re.compile(r"^Token\s+", re.IGNORECASE)
_PAIR_DELIMITERS = re.compile(r"\s*(?:,|;|\t)\s*")
TOKEN_BYTES = 20


@dataclass(frozen=True)
class Principal:
    """Who is calling: the team every lookup is scoped to, and the user (None for API keys)."""

    team_id: int
    user_id: int | None
    installation_id: str | None


def token_of(header: str | None) -> str | None:
    """The ``token`` value of a Rails token header, or None when absent or malformed."""
    if not header or not _SCHEME.match(header):
        return None
    for pair in _PAIR_DELIMITERS.split(_SCHEME.sub("", header, count=1).strip()):
        name, sep, value = pair.partition("=")
        if sep and name.strip() == "token":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1].replace('\\"', '"')
            return value or None
    return None


def _credential(sandbox: Sandbox, token: str) -> Credential | None:
    session = sandbox.store.get(VENDOR, GLOBAL, "session", token)
    if isinstance(session, Credential) and hmac.compare_digest(session.token, token):
        if session.expires_at is not None and sandbox.clock.expired(session.expires_at):
            return None
        return session
    found = None
    for key in sandbox.store.list(VENDOR, GLOBAL, "api_key"):
        if hmac.compare_digest(key.token.encode(), token.encode()):
            found = key
    return found


def check_app_id(sandbox: Sandbox, request: Request) -> str:
    """Raises: InvalidAppId when X-AppId is missing or not one of the fixture app ids."""
    app_id = (request.headers.get("x-appid") or "").strip()
    known = settings_of(sandbox).app_ids
    if not app_id or (known and app_id not in known):
        raise InvalidAppId()
    return app_id


def _team(header: str | None, allowed: tuple[int, ...]) -> int:
    if header is None or not header.strip():
        return allowed[0]
    value = header.strip()
    if value.isascii() and value.isdigit() and int(value) in allowed:
        return int(value)
    raise Forbidden(f"You are not authorized to access team {value}.")


def authenticate(sandbox: Sandbox, request: Request) -> Principal:
    """The caller of a v4 endpoint.

    Raises: InvalidToken, InvalidAppId (401); Forbidden (403) when X-TeamId names a team the
    credential has no access to. Without X-TeamId the credential's first team is used (a user's
    ``preferred_team_id``). X-InstallationId is optional (None when absent or blank).
    """
    token = token_of(request.headers.get("authorization"))
    credential = _credential(sandbox, token) if token else None
    if credential is None or not credential.team_ids:
        raise InvalidToken()
    check_app_id(sandbox, request)
    installation_id = (request.headers.get("x-installationid") or "").strip() or None
    team_id = _team(request.headers.get("x-teamid"), credential.team_ids)
    return Principal(team_id, credential.user_id, installation_id)


def _user(sandbox: Sandbox, email: str) -> User | None:
    wanted = email.strip().lower()
    for user in sandbox.store.list(VENDOR, GLOBAL, "user"):
        if user.email.lower() == wanted:
            return user
    return None


def login(sandbox: Sandbox, email: str, password: str, *, lifetime: float) -> tuple[Credential, User]:
    """Sessions API v3: check the fixture user's password and issue an access token.

    Raises: BadCredentials for a blank or wrong email/password; AccountLocked for a locked user.
    """
    user = check_password(sandbox, email, password)
    token = sandbox.ids.token(TOKEN_BYTES)
    credential = Credential(token, user.team_ids, user.id, sandbox.clock.time() + lifetime)
    sandbox.store.put(VENDOR, GLOBAL, "session", token, credential)
    return credential, user


def check_password(sandbox: Sandbox, email: str, password: str) -> User:
    """The fixture user with this email and password (email case-insensitive).

    Raises: BadCredentials for a blank or wrong email/password; AccountLocked for a locked user.
    """
    if not email.strip() or not password:
        raise BadCredentials()
    user = _user(sandbox, email)
    expected = user.password if user else "\x00no user"
    if not hmac.compare_digest(expected.encode(), password.encode()) or user is None:
        raise BadCredentials("Invalid email or password.")
    if user.locked:
        raise AccountLocked()
    return user
