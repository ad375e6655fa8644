"""SaferMe's v4 Sessions API (sessions.md, 2022-02-24): create, fetch, refresh and delete a session.

A session holds one access token (used as ``Authorization: Token token=<access_token>``, valid
``access_token_ttl_seconds``) and one refresh token (valid ``refresh_token_ttl_seconds`` from the
moment it was issued), both on the sandbox clock. Refreshing issues a new pair and invalidates the
old pair at once; deleting invalidates both. The access token is also stored as a ``Credential``
(kind ``session``), so auth.py accepts it on every v4 call exactly like a v3 ``auth_token``.

Store layout (tenant ``GLOBAL``): ``v4_session`` by client_uuid, ``v4_access`` and ``v4_refresh`` by
token -> client_uuid, ``session`` by access token -> Credential.
"""

from __future__ import annotations

import hmac
import uuid as uuid_module
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mock_server.vendors.saferme.auth import check_password
from mock_server.vendors.saferme.errors import InvalidRefreshToken, InvalidToken, invalid
from mock_server.vendors.saferme.models import GLOBAL, VENDOR, Credential, User, settings_of

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox

ACCESS_PREFIX = "smt_1h_"  # the shape of the docs' example tokens ("smt_1h_E510IPwg...")
ACCESS_BYTES = 43
REFRESH_BYTES = 43
BRANDED_APP_ID = 1  # the docs' example: SaferMe's own app
# user_uuid is stable per user, like SaferMe's (the docs' example is a version-5 UUID).
_USER_NAMESPACE = uuid_module.UUID("43b9153a-900b-5c07-b4e4-5121333b23ef")


@dataclass(frozen=True)
class Session:
    client_uuid: str
    user_id: int
    team_ids: tuple[int, ...]
    app_bundle_id: str
    access_token: str
    refresh_token: str
    access_expires_at: float  # sandbox epoch seconds
    refresh_expires_at: float


def iso_millis(epoch: float) -> str:
    """Rails' ``TimeWithZone#as_json`` in UTC: ``2026-11-30T18:05:16.949Z``."""
    instant = datetime.fromtimestamp(epoch, UTC)
    return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user_uuid(user_id: int) -> str:
    return str(uuid_module.uuid5(_USER_NAMESPACE, f"user:{user_id}"))


def _issue(sandbox: Sandbox, session: Session) -> Session:
    """A new token pair for ``session``, stored; the caller removes the old pair first."""
    settings = settings_of(sandbox)
    now = sandbox.clock.time()
    fresh = replace(
        session,
        access_token=ACCESS_PREFIX + sandbox.ids.token(ACCESS_BYTES),
        refresh_token=sandbox.ids.token(REFRESH_BYTES),
        access_expires_at=now + settings.access_token_ttl_seconds,
        refresh_expires_at=now + settings.refresh_token_ttl_seconds,
    )
    store = sandbox.store
    store.put(VENDOR, GLOBAL, "v4_session", fresh.client_uuid, fresh)
    store.put(VENDOR, GLOBAL, "v4_access", fresh.access_token, fresh.client_uuid)
    store.put(VENDOR, GLOBAL, "v4_refresh", fresh.refresh_token, fresh.client_uuid)
    credential = Credential(fresh.access_token, fresh.team_ids, fresh.user_id, fresh.access_expires_at)
    store.put(VENDOR, GLOBAL, "session", fresh.access_token, credential)
    return fresh


def _forget(sandbox: Sandbox, session: Session) -> None:
    store = sandbox.store
    store.delete(VENDOR, GLOBAL, "v4_access", session.access_token)
    store.delete(VENDOR, GLOBAL, "v4_refresh", session.refresh_token)
    store.delete(VENDOR, GLOBAL, "session", session.access_token)


def check_app_bundle_id(sandbox: Sandbox, value: object) -> str:
    """Raises: UnprocessableEntity when blank (``blank``) or not a fixture app id (``inclusion``)."""
    if not isinstance(value, str) or not value.strip():
        raise invalid("app_bundle_id", "can't be blank", "blank")
    known = settings_of(sandbox).app_ids
    if known and value.strip() not in known:
        raise invalid("app_bundle_id", "is not included in the list", "inclusion", value=value)
    return value.strip()


def create(sandbox: Sandbox, app_bundle_id: str, email: str, password: str) -> Session:
    """Sign in. Raises: BadCredentials, AccountLocked (401), the v3 login's checks."""
    user = check_password(sandbox, email, password)
    blank = Session(sandbox.ids.uuid4(), user.id, user.team_ids, app_bundle_id, "", "", 0.0, 0.0)
    with sandbox.store.transaction():
        return _issue(sandbox, blank)


def _by(sandbox: Sandbox, kind: str, token: str) -> Session | None:
    client_uuid = sandbox.store.get(VENDOR, GLOBAL, kind, token)
    found = sandbox.store.get(VENDOR, GLOBAL, "v4_session", client_uuid) if client_uuid else None
    return found if isinstance(found, Session) else None


def current(sandbox: Sandbox, access_token: str | None) -> Session:
    """The session of a live access token. Raises: InvalidToken (unknown, replaced, deleted, expired)."""
    session = _by(sandbox, "v4_access", access_token) if access_token else None
    if session is None or not hmac.compare_digest(session.access_token, access_token or ""):
        raise InvalidToken()
    if sandbox.clock.expired(session.access_expires_at):
        raise InvalidToken()
    return session


def refresh(sandbox: Sandbox, access_token: str, refresh_token: str) -> Session:
    """A new pair; the old access and refresh tokens stop working at once.

    The access token may already be expired (that is what refreshing is for) but must be the one
    issued with ``refresh_token``. Raises: InvalidRefreshToken (401) for an unknown, used, deleted
    or expired refresh token, or a pair that does not belong together.
    """
    with sandbox.store.transaction():
        session = _by(sandbox, "v4_refresh", refresh_token)
        if (
            session is None
            or not hmac.compare_digest(session.refresh_token, refresh_token)
            or not hmac.compare_digest(session.access_token.encode(), access_token.encode())
            or sandbox.clock.expired(session.refresh_expires_at)
        ):
            raise InvalidRefreshToken()
        _forget(sandbox, session)
        return _issue(sandbox, session)


def delete(sandbox: Sandbox, session: Session) -> None:
    with sandbox.store.transaction():
        _forget(sandbox, session)
        sandbox.store.delete(VENDOR, GLOBAL, "v4_session", session.client_uuid)


def session_json(sandbox: Sandbox, session: Session, *, with_tokens: bool) -> dict[str, Any]:
    """The docs' body; tokens only on create and refresh ("cannot be retrieved again")."""
    user = sandbox.store.get(VENDOR, GLOBAL, "user", str(session.user_id))
    preferred = user.team_ids[0] if isinstance(user, User) and user.team_ids else None
    tokens = {"access_token": session.access_token, "refresh_token": session.refresh_token}
    return {
        "session": {
            **(tokens if with_tokens else {}),
            "token_expire_at": iso_millis(session.access_expires_at),
            "app_bundle_id": session.app_bundle_id,
            "branded_app_id": BRANDED_APP_ID,
            "client_uuid": session.client_uuid,
            "profile": {
                "user_id": session.user_id,
                "preferred_team_id": preferred,
                "user_uuid": user_uuid(session.user_id),
                "personal_account_option": False,
                "consent_required": False,
                "profile_details_pending": False,
                "password_update_pending": False,
            },
        }
    }
