"""Direct presigning is byte-for-byte botocore's: random keys, hosts, headers, queries and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import parse_qsl, quote, urlsplit

import botocore.auth
import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.core.clock import Clock
from mock_server.storage import presign
from mock_server.storage.grants import UploadGrant, encode
from mock_server.storage.service import GRANT_PARAM, STORAGE_PREFIX, Storage, object_path
from mock_server.storage.sigv4 import SigningCredentials

BASES = [
    "http://127.0.0.1:9000",
    "http://localhost",
    "http://LocalHost:80",
    "https://sandbox.test:443",
    "https://Sandbox.Test:8443",
    "http://[::1]:9000",
    "http://[::1]",
    "http://127.0.0.1:8080/~s/ci-42",  # a session's base URL: its path is signed too
]
AUTH_PARAMS = {
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
}
# Text without lone surrogates (not encodable as UTF-8, so never in a real key or header).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
HEADER_NAMES = st.sampled_from(
    [
        "content-type",
        "Content-Type",
        "x-amz-content-sha256",
        "X-Amz-Content-SHA256",
        "x-amz-meta-a",
        "content-md5",
        "user-agent",
        "Expect",
        "transfer-encoding",
        "x-amzn-trace-id",
        "host",
        "content-disposition",
        "x-amz-acl",
        "cache-control",
    ]
) | st.from_regex(r"x-[a-z0-9-]{1,12}", fullmatch=True)
HEADER_VALUES = TEXT | st.sampled_from(
    [
        "application/x-www-form-urlencoded; charset=utf-8",
        "UNSIGNED-PAYLOAD",
        " image/png ",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "a\t b\n  c",
    ]
)


def _unique_lower(headers: dict[str, str]) -> bool:
    return len({name.lower() for name in headers}) == len(headers)


CASES = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["PUT", "GET", "HEAD", "DELETE", "put"]),
        "base_url": st.sampled_from(BASES),
        "key": st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60),
        "credentials": st.builds(
            SigningCredentials,
            access_key_id=st.from_regex(r"[A-Z0-9]{16,20}", fullmatch=True),
            secret_access_key=TEXT,
            region=st.sampled_from(["us-east-1", "eu-west-3", "ap-southeast-2"]),
            session_token=st.none() | TEXT,
        ),
        "now": st.datetimes(
            min_value=datetime(1980, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ),
        "expires_in": st.integers(0, 700_000),
        "signed_headers": st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=4).filter(_unique_lower),
        "query": st.dictionaries(TEXT.filter(lambda k: k not in AUTH_PARAMS), TEXT, max_size=3),
    }
)


def botocore_url(case: dict) -> str:
    """What ``generate_presigned_url`` returns: botocore's query signer at the case's instant."""
    creds: SigningCredentials = case["credentials"]
    signer = S3SigV4QueryAuth(
        ReadOnlyCredentials(creds.access_key_id, creds.secret_access_key, creds.session_token),
        "s3",
        creds.region,
        expires=case["expires_in"],
    )
    request = AWSRequest(
        method=case["method"],
        url=case["base_url"] + object_path(STORAGE_PREFIX, "bucket", case["key"]),
        headers=dict(case["signed_headers"]),
        params=dict(case["query"]),
    )
    naive_utc = case["now"].astimezone(UTC).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=naive_utc):
        signer.add_auth(request)
    return request.prepare().url


def ours(case: dict) -> str:
    return presign.presign_url(
        method=case["method"],
        base_url=case["base_url"],
        path=object_path(STORAGE_PREFIX, "bucket", case["key"]),
        credentials=case["credentials"],
        now=case["now"],
        expires_in=case["expires_in"],
        signed_headers=case["signed_headers"],
        query=case["query"],
    )


# 300 random cases a run, three times Hypothesis' default; every run draws new ones, so runs add up.
@settings(max_examples=300, deadline=None)
@given(CASES)
def test_direct_presign_is_byte_identical_to_botocore(case: dict) -> None:
    assert ours(case) == botocore_url(case)


@pytest.mark.parametrize(
    ("signed_headers", "payload"),
    [
        pytest.param({}, "UNSIGNED-PAYLOAD", id="unsigned"),
        pytest.param({"X-Amz-Content-SHA256": " abc "}, " abc ", id="signed-sha256-used-verbatim"),
    ],
)
def test_signed_content_sha256_is_the_payload_hash(signed_headers: dict[str, str], payload: str) -> None:
    case = {
        "method": "PUT",
        "base_url": BASES[0],
        "key": "a b/c+d",
        "expires_in": 60,
        "query": {},
        "credentials": SigningCredentials("AKIDEXAMPLE", "secret", "us-east-1"),
        "now": datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
        "signed_headers": signed_headers,
    }
    seen: list[str] = []
    real = S3SigV4QueryAuth.string_to_sign

    def spy(self: S3SigV4QueryAuth, request: AWSRequest, canonical: str) -> str:
        seen.append(canonical)
        return real(self, request, canonical)

    with mock.patch.object(S3SigV4QueryAuth, "string_to_sign", spy):
        expected = botocore_url(case)
    assert seen[0].endswith(f"\n{payload}")
    assert ours(case) == expected


def _storage(credentials: SigningCredentials, clock: Clock) -> Storage:
    return Storage(objects=None, credentials=credentials, clock=clock)  # type: ignore[arg-type]  # no object is touched


def _grant(storage: Storage, base_url: str, single_use: bool = False) -> UploadGrant:
    """The limits ``storage`` signs into an upload URL for ``base_url`` (no size cap)."""
    return UploadGrant(single_use, None, storage.grants.epoch(), 0, urlsplit(base_url).netloc)


def _grant_value(storage: Storage, base_url: str, single_use: bool = False) -> str:
    return encode(_grant(storage, base_url, single_use))


def _grant_of(url: str) -> UploadGrant | None:
    return Storage.grant_in(dict(parse_qsl(urlsplit(url).query)))


def _at_case_second(case: dict, within: float = 0.0) -> tuple[Storage, int]:
    """A storage whose clock stands ``within`` the case's second, and the case's lifetime (at least 1 s)."""
    clock = Clock()
    clock.freeze(case["now"].replace(microsecond=0).timestamp() + within)
    return _storage(case["credentials"], clock), max(case["expires_in"], 1)


@settings(max_examples=100, deadline=None)
@given(
    CASES,
    st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30), max_size=5),
    st.none() | st.sampled_from(["application/pdf", " image/png ", "application/x-www-form-urlencoded"]),
    st.floats(0, 0.999),
)
def test_upload_urls_of_one_second_share_a_signer_and_each_is_botocore_s(
    case: dict, keys: list[str], content_type: str | None, within: float
) -> None:
    """``Storage.presign_put`` keeps what URLs signed in one second share; every URL is still exactly
    botocore's for its key, also when the clock is at a fraction of that second."""
    storage, expires = _at_case_second(case, within)
    for key in [case["key"], *keys, case["key"]]:
        issued = storage.presign_put(
            case["base_url"], "bucket", key, expires_in=expires, content_type=content_type
        )
        expected = botocore_url(
            {
                **case,
                "method": "PUT",
                "key": key,
                "now": case["now"].replace(microsecond=0),
                "expires_in": expires,
                "signed_headers": {"content-type": content_type} if content_type else {},
                "query": {GRANT_PARAM: _grant_value(storage, case["base_url"])},
            }
        )
        assert issued.url == expected
        assert issued.expires_at.timestamp() == case["now"].replace(microsecond=0).timestamp() + expires
        assert _grant_of(issued.url) == _grant(storage, case["base_url"])


def test_the_next_second_and_other_credentials_get_signers_of_their_own() -> None:
    clock = Clock()
    clock.freeze(datetime(2024, 2, 29, 23, 59, 59, 999_000, tzinfo=UTC))
    first = SigningCredentials("AKIDEXAMPLE", "secret", "us-east-1")
    storage = _storage(first, clock)
    base = BASES[0]
    case = {"method": "PUT", "base_url": base, "key": "k", "credentials": first, "expires_in": 60}
    case.update(signed_headers={}, query={GRANT_PARAM: _grant_value(storage, base)})
    stamp = datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)
    assert storage.presign_put(base, "bucket", "k", expires_in=60).url == botocore_url({**case, "now": stamp})
    clock.advance(0.002)  # the next second, and the next day's signing key
    later = datetime(2024, 3, 1, tzinfo=UTC)
    assert storage.presign_put(base, "bucket", "k", expires_in=60).url == botocore_url({**case, "now": later})
    storage.credentials = other = SigningCredentials("AKIDEXAMPLE", "another secret", "us-east-1")
    url = storage.presign_put(base, "bucket", "k", expires_in=60).url
    assert url == botocore_url({**case, "now": later, "credentials": other})


@settings(max_examples=100, deadline=None)
@given(
    CASES,
    st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30), max_size=5),
    st.none() | st.sampled_from(['attachment; filename="a.pdf"', "inline"]),
    st.floats(0, 0.999),
)
def test_download_urls_are_botocore_s_whether_their_signer_is_kept_or_not(
    case: dict, keys: list[str], disposition: str | None, within: float
) -> None:
    """``Storage.presign_get`` keeps the signer of URLs without a disposition (a listing signs one per item);
    either way each URL is exactly botocore's."""
    storage, expires = _at_case_second(case, within)
    for key in [case["key"], *keys, case["key"]]:
        issued = storage.presign_get(
            case["base_url"], "bucket", key, expires_in=expires, content_disposition=disposition
        )
        query = {"response-content-disposition": disposition} if disposition else {}
        expected = {**case, "method": "GET", "key": key, "now": case["now"].replace(microsecond=0)}
        expected.update(expires_in=expires, signed_headers={}, query=query)
        assert issued.url == botocore_url(expected)


@settings(max_examples=50, deadline=None)
@given(
    CASES, st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30), max_size=8)
)
def test_a_listing_s_download_urls_are_botocore_s_url_by_url(case: dict, keys: list[str]) -> None:
    """``Storage.download_signer`` (a listing's URLs, signed at one instant) gives, in order, botocore's URL
    for each key, and their shared expiry."""
    storage, expires = _at_case_second(case)
    signer = storage.download_signer(case["base_url"], "bucket", expires_in=expires)
    urls, expires_at = signer.urls(keys), signer.expires_at
    signed_at = case["now"].replace(microsecond=0)
    assert expires_at == signed_at + timedelta(seconds=expires)
    assert len(urls) == len(keys)
    for key, url in zip(keys, urls, strict=True):
        expected = {**case, "method": "GET", "key": key, "now": signed_at}
        expected.update(expires_in=expires, signed_headers={}, query={})
        assert url == botocore_url(expected)


@settings(max_examples=50, deadline=None)
@given(
    CASES,
    st.lists(
        st.tuples(
            st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30),
            st.none() | st.sampled_from(["application/pdf", "image/png"]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_a_batch_of_upload_urls_is_botocore_s_url_by_url(case: dict, uploads: list) -> None:
    """``Storage.presign_puts`` (one request's URLs, mixed content types) gives, in order, each URL botocore
    gives for its key and type, each with the limits signed in."""
    storage, expires = _at_case_second(case)
    issued = storage.presign_puts(case["base_url"], "bucket", uploads, expires_in=expires, single_use=True)
    assert len(issued) == len(uploads)
    for (key, content_type), url in zip(uploads, issued, strict=True):
        expected = {**case, "method": "PUT", "key": key, "now": case["now"].replace(microsecond=0)}
        expected.update(
            expires_in=expires, query={GRANT_PARAM: _grant_value(storage, case["base_url"], True)}
        )
        expected["signed_headers"] = {"content-type": content_type} if content_type else {}
        assert url.url == botocore_url(expected)
        assert _grant_of(url.url) == _grant(storage, case["base_url"], True)


@given(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=60) | st.from_regex(r"[A-Za-z0-9_.~/-]*")
)
def test_an_object_path_is_the_key_percent_encoded_with_slashes_and_tildes_kept(key: str) -> None:
    assert object_path(STORAGE_PREFIX, "bucket", key) == f"{STORAGE_PREFIX}/bucket/{quote(key, safe='/~')}"
