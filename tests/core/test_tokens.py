"""HS256 tokens through PyJWT: what verifies, what does not, and that time is the caller's business."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from mock_server.core.tokens import decode_hs256, encode_hs256

SECRET = b"s" * 64  # HS512 wants 64 bytes, HS256 32: one key serves both cases below
CLAIMS = {"sub": "client", "iat": 4_000_000_000, "exp": 1, "aud": "someone", "iss": "sandbox"}


def test_round_trip_keeps_claims_and_header() -> None:
    token = encode_hs256(CLAIMS, SECRET, kid="k1")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    # exp in the past and iat in the future: the sandbox clock decides, not the wall clock
    assert decode_hs256(token, SECRET) == CLAIMS


def _unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    "token",
    [
        encode_hs256(CLAIMS, b"another secret of enough length....", kid="k1"),
        _unsigned(CLAIMS),
        jwt.encode(CLAIMS, SECRET, algorithm="HS512"),
        "not.a.jwt",
        "",
        "a.b",
    ],
    ids=["other-key", "alg-none", "hs512", "garbage", "empty", "two-parts"],
)
def test_anything_but_our_hs256_signature_is_refused(token: str) -> None:
    assert decode_hs256(token, SECRET) is None
