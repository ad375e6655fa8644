"""Decoda credentials: the ``API-KEY`` header must be the active key of the ``TENANT`` header's tenant.

Each tenant has exactly one active key (generating a new key in the Decoda app replaces the previous
one); ``rotate_api_key`` does that here. An unknown tenant and a wrong key get the same 401, so tenant
names cannot be probed; keys are compared in constant time.
"""

from __future__ import annotations

import hmac

from mock_server.core.sandbox import Sandbox
from mock_server.vendors.decoda.errors import InvalidApiKey
from mock_server.vendors.decoda.fixtures import VENDOR

KEY_PREFIX = "decoda-"


def authenticate(sandbox: Sandbox, tenant: str, api_key: str) -> str:
    """The tenant the caller may act for.

    Raises: InvalidApiKey when ``api_key`` is not ``tenant``'s active key.
    """
    active = sandbox.store.get(VENDOR, tenant, "api-key", "active")
    expected = active if isinstance(active, str) else "\x00" + api_key
    matches = hmac.compare_digest(expected.encode("utf-8"), api_key.encode("utf-8"))
    if not matches or not isinstance(active, str):
        raise InvalidApiKey()
    return tenant


def rotate_api_key(sandbox: Sandbox, tenant: str) -> str:
    """Issue a new key for ``tenant``; the previous one stops working at once."""
    key = KEY_PREFIX + sandbox.ids.token(40)
    sandbox.store.put(VENDOR, tenant, "api-key", "active", key)
    return key
