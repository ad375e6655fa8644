"""GCS V4-style signed download links: round trip, an independent re-derivation, and every refusal."""

from __future__ import annotations

import hashlib
import hmac
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from mock_server.storage import signed_urls
from mock_server.storage.gcs_errors import MalformedSecurityHeader
from mock_server.storage.s3_errors import ExpiredToken, InvalidArgument, S3Error, SignatureDoesNotMatch
from mock_server.storage.sigv4 import SigningCredentials

ACCESS_ID = "GOOG1EXAMPLEHMACKEYID"
SECRET = "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ"
CREDS = SigningCredentials(ACCESS_ID, SECRET, "us-east-1")
KNOWN = {ACCESS_ID: CREDS}
T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:8080"
HOST = "127.0.0.1:8080"
PATH = "/gcs/decoda-exports/tenant-1/encounter%20notes/visit.pdf"


def reference_signature(method: str, path: str, host: str, params: list[tuple[str, str]]) -> str:
    """GCS V4 HMAC signing written out from Google's description, independent of the module."""

    def enc(text: str) -> str:
        return quote(text, safe="-_.~")

    query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params))
    canonical = f"{method}\n{path}\n{query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD"
    date = dict(params)["X-Goog-Date"]
    string_to_sign = "\n".join(
        [
            "GOOG4-HMAC-SHA256",
            date,
            f"{date[:8]}/auto/storage/goog4_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("GOOG4" + SECRET).encode()
    for part in (date[:8], "auto", "storage", "goog4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class Link:
    """A request for an issued link, mutable one field at a time."""

    def __init__(self, *, now: datetime = T0, expires_in: int = 900, method: str = "GET") -> None:
        self.url = signed_urls.sign_download_url(
            base_url=BASE, path=PATH, credentials=CREDS, now=now, expires_in=expires_in, method=method
        )
        parts = urlsplit(self.url)
        self.method, self.path, self.host = method, parts.path, parts.netloc
        self.params = parse_qsl(parts.query, keep_blank_values=True)

    def set(self, name: str, value: str | None) -> Link:
        kept = [(k, v) for k, v in self.params if k != name]
        self.params = kept if value is None else [*kept, (name, value)]
        return self

    def verify(self, now: datetime = T0 + timedelta(seconds=30)) -> None:
        query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in self.params)
        signed_urls.verify_download_url(
            method=self.method, path=self.path, query_string=query, host=self.host, now=now, credentials=KNOWN
        )


def test_url_shape_and_independent_signature() -> None:
    link = Link()
    params = dict(link.params)
    assert link.url.startswith(f"{BASE}{PATH}?X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Credential=")
    assert params["X-Goog-Credential"] == f"{ACCESS_ID}/20240301/auto/storage/goog4_request"
    assert (params["X-Goog-Date"], params["X-Goog-Expires"], params["X-Goog-SignedHeaders"]) == (
        "20240301T120000Z",
        "900",
        "host",
    )
    unsigned = [(k, v) for k, v in link.params if k != "X-Goog-Signature"]
    assert params["X-Goog-Signature"] == reference_signature("GET", PATH, HOST, unsigned)


def test_round_trip() -> None:
    Link().verify()
    Link(method="HEAD").verify()


def test_default_port_is_not_signed() -> None:
    url = signed_urls.sign_download_url(
        base_url="https://Sandbox.example:443", path=PATH, credentials=CREDS, now=T0, expires_in=60
    )
    parts = urlsplit(url)
    signed_urls.verify_download_url(
        method="GET",
        path=parts.path,
        query_string=parts.query,
        host="sandbox.example",
        now=T0,
        credentials=KNOWN,
    )


def _flip(link: Link) -> Link:
    signature = dict(link.params)["X-Goog-Signature"]
    return link.set("X-Goog-Signature", signature[:-1] + ("0" if signature[-1] != "0" else "1"))


def _attr(name: str, value: str) -> Callable[[Link], Link]:
    def apply(link: Link) -> Link:
        setattr(link, name, value)
        return link

    return apply


TAMPERS = [
    pytest.param(_attr("method", "DELETE"), SignatureDoesNotMatch, id="method"),
    pytest.param(_attr("method", "HEAD"), SignatureDoesNotMatch, id="method-head-on-get-link"),
    pytest.param(_attr("path", PATH.replace("visit", "other")), SignatureDoesNotMatch, id="path"),
    pytest.param(_attr("path", PATH.replace("%20", "+")), SignatureDoesNotMatch, id="path-re-encoded"),
    pytest.param(_attr("host", "localhost:8080"), SignatureDoesNotMatch, id="host"),
    pytest.param(_flip, SignatureDoesNotMatch, id="X-Goog-Signature"),
    pytest.param(lambda x: x.set("X-Goog-Expires", "901"), SignatureDoesNotMatch, id="X-Goog-Expires"),
    pytest.param(lambda x: x.set("X-Goog-Date", "20240301T120001Z"), SignatureDoesNotMatch, id="X-Goog-Date"),
    pytest.param(
        lambda x: x.set("X-Goog-Credential", "GOOG1OTHER/20240301/auto/storage/goog4_request"),
        SignatureDoesNotMatch,
        id="X-Goog-Credential-id",
    ),
    pytest.param(
        lambda x: x.set("X-Goog-Credential", f"{ACCESS_ID}/20240302/auto/storage/goog4_request"),
        InvalidArgument,
        id="X-Goog-Credential-date",
    ),
    pytest.param(
        lambda x: x.set("X-Goog-Credential", f"{ACCESS_ID}/20240301/us/storage/goog4_request"),
        InvalidArgument,
        id="X-Goog-Credential-location",
    ),
    pytest.param(
        lambda x: x.set("X-Goog-Algorithm", "GOOG4-RSA-SHA256"), InvalidArgument, id="X-Goog-Algorithm"
    ),
    pytest.param(
        lambda x: x.set("X-Goog-SignedHeaders", "content-type;host"),
        MalformedSecurityHeader,
        id="X-Goog-SignedHeaders",
    ),
    pytest.param(
        lambda x: x.set("response-content-disposition", "attachment"), SignatureDoesNotMatch, id="extra-param"
    ),
]


@pytest.mark.parametrize(("tamper", "error"), TAMPERS)
def test_tamper_is_refused(tamper: Callable[[Link], Link], error: type[S3Error]) -> None:
    with pytest.raises(error):
        tamper(Link()).verify()


@pytest.mark.parametrize("name", signed_urls.REQUIRED_PARAMS)
def test_missing_parameter(name: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        Link().set(name, None).verify()
    assert caught.value.status == 400
    assert caught.value.message == "Missing or invalid X-Goog-* query parameter."
    assert caught.value.extra == {"Details": f"Missing required parameter: {name}"}


EXPIRES = {"Details": "Expires must be between 1 and 604800.", "ParameterName": "Expires"}
DATE = {"Details": "Date not in valid ISO 8601 format.", "ParameterName": "Date"}


@pytest.mark.parametrize(
    ("name", "value", "error", "extra"),
    [
        pytest.param("X-Goog-Expires", "604801", MalformedSecurityHeader, EXPIRES, id="expires-over-a-week"),
        pytest.param("X-Goog-Expires", "0", MalformedSecurityHeader, EXPIRES, id="expires-zero"),
        pytest.param("X-Goog-Expires", "-5", MalformedSecurityHeader, EXPIRES, id="expires-negative"),
        pytest.param("X-Goog-Expires", "1e3", MalformedSecurityHeader, EXPIRES, id="expires-not-integer"),
        pytest.param("X-Goog-Expires", "9" * 5000, MalformedSecurityHeader, EXPIRES, id="expires-huge"),
        pytest.param("X-Goog-Date", "2024-03-01T12:00:00Z", MalformedSecurityHeader, DATE, id="date-shape"),
        pytest.param("X-Goog-Date", "20240231T120000Z", MalformedSecurityHeader, DATE, id="date-invalid-day"),
        pytest.param(
            "X-Goog-Credential",
            f"{ACCESS_ID}/20240301/auto/storage",
            InvalidArgument,
            {"Details": "X-Goog-Credential must be <access id>/20240301/auto/storage/goog4_request"},
            id="credential-four-parts",
        ),
    ],
)
def test_malformed_parameter(name: str, value: str, error: type[S3Error], extra: dict[str, str]) -> None:
    with pytest.raises(error) as caught:
        Link().set(name, value).verify()
    assert caught.value.status == 400 and caught.value.extra == extra


def test_expiry_boundary() -> None:
    link = Link(expires_in=900)
    link.verify(now=T0 + timedelta(seconds=899))
    with pytest.raises(ExpiredToken) as caught:
        link.verify(now=T0 + timedelta(seconds=900))
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        400,
        "ExpiredToken",
        "Invalid argument.",
    )
    assert caught.value.extra == {
        "Details": "The provided token has expired. Request signature expired at: 2024-03-01T12:15:00+00:00"
    }


def test_expired_with_bad_signature_reports_the_signature() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        _flip(Link()).verify(now=T0 + timedelta(days=8))


def test_put_link_does_not_open_get() -> None:
    put_link = Link(method="PUT")
    put_link.verify()
    with pytest.raises(SignatureDoesNotMatch):
        _attr("method", "GET")(put_link).verify()


def test_mismatch_xml() -> None:
    with pytest.raises(SignatureDoesNotMatch) as caught:
        _attr("host", "evil.example")(Link()).verify()
    root = ET.fromstring(caught.value.to_xml("req-1"))
    assert [child.tag for child in root] == [
        "Code",
        "Message",
        "Details",
        "StringToSign",
        "CanonicalRequest",
    ]  # GCS writes no RequestId/HostId
    assert root.findtext("Message") == "Access denied."
    assert root.findtext("Details") == signed_urls.MISMATCH_DETAILS
    assert (root.findtext("StringToSign") or "").startswith(
        "GOOG4-HMAC-SHA256\n20240301T120000Z\n20240301/auto/storage/goog4_request\n"
    )
    assert "\nhost:evil.example\n\nhost\nUNSIGNED-PAYLOAD" in (root.findtext("CanonicalRequest") or "")


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signed_urls.sign_download_url(
            base_url=BASE, path=PATH, credentials=CREDS, now=datetime(2024, 3, 1), expires_in=60
        )


def test_non_ascii_signature_is_a_mismatch_not_a_crash() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        Link().set("X-Goog-Signature", "é" * 64).verify()


class TestSignedHeaders:
    def sign(self, base: str = BASE, headers: dict[str, str] | None = None) -> tuple[str, str]:
        url = signed_urls.sign_download_url(
            base_url=base, path=PATH, credentials=CREDS, now=T0, expires_in=60, method="PUT", headers=headers
        )
        parts = urlsplit(url)
        return parts.path, parts.query

    def verify(
        self, query: str, host: str = HOST, headers: dict[str, str] | None = None, now: datetime = T0
    ) -> None:
        signed_urls.verify_download_url(
            method="PUT",
            path=PATH,
            query_string=query,
            host=host,
            now=now,
            credentials=KNOWN,
            headers=headers,
        )

    def test_additional_headers_are_signed_and_checked(self) -> None:
        _, query = self.sign(headers={"Content-Type": "application/pdf", "x-goog-meta-visit": "  a   b "})
        assert "X-Goog-SignedHeaders=content-type%3Bhost%3Bx-goog-meta-visit" in query
        self.verify(query, headers={"content-type": "application/pdf", "x-goog-meta-visit": "a b"})
        with pytest.raises(SignatureDoesNotMatch):
            self.verify(query, headers={"content-type": "image/png", "x-goog-meta-visit": "a b"})

    def test_signed_header_not_sent_is_malformed_security_header(self) -> None:
        _, query = self.sign(headers={"Content-Type": "application/pdf"})
        with pytest.raises(MalformedSecurityHeader) as caught:
            self.verify(query)
        root = ET.fromstring(caught.value.to_xml("ignored"))
        assert [(child.tag, child.text) for child in root] == [
            ("Code", "MalformedSecurityHeader"),
            ("Message", "Your request has a malformed header."),
            ("Details", signed_urls.NOT_SENT),
            ("ParameterName", "contenttype"),
        ]

    @pytest.mark.parametrize(
        ("base", "host"),
        [
            ("http://localhost:9000", "localhost:9000"),
            ("http://Sandbox.Example:80", "sandbox.example"),
            ("https://sandbox.example:443", "sandbox.example"),
            ("https://sandbox.example:8443", "sandbox.example:8443"),
        ],
    )
    def test_canonical_host_keeps_only_non_default_ports(self, base: str, host: str) -> None:
        _, query = self.sign(base=base)
        self.verify(query, host=host)

    def test_date_in_the_future_is_refused(self) -> None:
        _, query = self.sign()
        with pytest.raises(MalformedSecurityHeader) as caught:
            self.verify(query, now=T0 - timedelta(seconds=1))
        assert caught.value.extra["ParameterName"] == "Date"

    def test_signature_parameter_name_is_case_insensitive(self) -> None:
        _, query = self.sign()
        self.verify(query.replace("X-Goog-Signature=", "x-goog-signature="))
