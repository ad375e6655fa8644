"""How a journal entry is shown: credentials masked (one list, here) and bodies as text or a summary.

``CREDENTIAL_NAMES`` is the one place that says which header, query parameter, form field or JSON key
carries a secret: OAuth (access_token, refresh_token, client_secret, password), API keys
(api_key, API-KEY, X-Api-Key), signatures (X-Amz-Signature, Signature, X-Goog-Signature) and tokens
(X-Amz-Security-Token, Authorization, Cookie).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

CREDENTIAL_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "api-key",
        "api_key",
        "apikey",
        "x-api-key",
        "x-amz-security-token",
        "x-amz-signature",
        "signature",
        "x-goog-signature",
        "googleaccessid",
        "access_token",
        "accesstoken",
        "refresh_token",
        "refreshtoken",
        "id_token",
        "token",
        "client_secret",
        "clientsecret",
        "password",
        "secret",
        "x-auth-token",
    }
)
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")
TEXT_SUFFIXES = ("+json", "+xml", "yaml", "javascript")


def is_credential(name: str) -> bool:
    """Whether a header, query parameter, form field or JSON key of this name carries a secret."""
    return name.strip().lower() in CREDENTIAL_NAMES


def mask(value: str) -> str:
    """Keep a hint of the value (scheme word and last 4 characters) but never the secret itself."""
    scheme, _, rest = value.partition(" ")
    secret = rest if rest else scheme
    hint = secret[-4:] if len(secret) > 12 else ""
    masked = f"***{hint}"
    return f"{scheme} {masked}" if rest else masked


def masked_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers by lower-case name (repeated ones joined with ``, ``), credentials masked."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    kept: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        shown = mask(value) if is_credential(key) else value
        kept[key] = f"{kept[key]}, {shown}" if key in kept else shown
    return kept


def masked_query(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Query parameters by name (the last of repeated ones wins), credentials masked."""
    return {name: (mask(value) if is_credential(name) else value) for name, value in pairs}


def _masked_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (mask(str(item)) if is_credential(str(key)) and item is not None else _masked_json(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked_json(item) for item in value]
    return value


def _is_text_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(TEXT_TYPES) or media.endswith(TEXT_SUFFIXES)


def _decode(data: bytes, complete: bool) -> str | None:
    """UTF-8 text, or None for binary; a character cut by the bound at the end is tolerated."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if complete or exc.start < len(data) - 3:
            return None
        text = data[: exc.start].decode("utf-8", errors="replace")
    controls = sum(1 for char in text[:4096] if ord(char) < 32 and char not in "\r\n\t")
    return None if controls > 8 else text


def _masked_text(text: str, content_type: str, complete: bool) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        pairs = parse_qsl(text, keep_blank_values=True)
        if any(is_credential(name) for name, _ in pairs):
            return urlencode(list(masked_query(pairs).items()))
    elif complete and (media == "application/json" or media.endswith("+json")):
        try:
            return json.dumps(_masked_json(json.loads(text)), indent=2, ensure_ascii=False)
        except ValueError:
            return text
    return text


def render_body(body: tuple[bytes, int] | None, content_type: str) -> dict[str, Any] | None:
    """``{"size", "captured", "truncated", "contentType", "text"}`` for text; for binary
    ``{"binary": true, "head": <hex of the first 32 bytes>}`` instead of ``text``; None when no body.
    """
    if body is None or (body[1] == 0 and not body[0]):
        return None
    data, size = body
    shown: dict[str, Any] = {
        "size": size,
        "captured": len(data),
        "truncated": len(data) < size,
        "contentType": content_type or None,
    }
    if size and not data:
        shown["dropped"] = True  # the journal's total body budget took it back
        return shown
    complete = len(data) == size
    text = _decode(data, complete) if (_is_text_type(content_type) or not content_type) else None
    if text is None and not _is_text_type(content_type) and content_type.startswith("multipart/"):
        text = _decode(data, complete)
    if text is None:
        shown["binary"] = True
        shown["head"] = data[:32].hex(" ")
    else:
        shown["text"] = _masked_text(text, content_type, complete)
    return shown
