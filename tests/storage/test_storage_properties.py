"""Properties of the three verifiers: what was issued is accepted, any single change to it is refused.

``test_sigv4.py`` and ``test_post_policy.py`` already change one character of a query value, the path
or a form value. This module covers the rest, for arbitrary issued URLs and forms: the method, each
query parameter (removed, renamed, replaced, added), each signed header (changed, removed, repeated),
unsigned ``x-amz-*`` headers, the validity window, GCS download links, and every POST form field
(removed, replaced, added), the policy document itself, ``starts-with`` keys, ``${filename}`` and
``content-length-range``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from mock_server.storage import post_policy, presign, signed_urls, sigv4
from mock_server.storage.s3_errors import (
    AccessDenied,
    EntityTooLarge,
    EntityTooSmall,
    InvalidArgument,
    S3Error,
    SignatureDoesNotMatch,
)
from mock_server.storage.service import DOWNLOAD_PREFIX, STORAGE_PREFIX, object_path
from mock_server.storage.sigv4 import SigningCredentials

AKID = "AKIASANDBOX000000001"
SECRET = "sandbox/secret/key/do-not-use-in-production"
REGION = "us-east-1"
CREDS = SigningCredentials(AKID, SECRET, REGION)
KNOWN = {AKID: CREDS}
BASE = "http://127.0.0.1:8080"
HOST = "127.0.0.1:8080"
BUCKET = "sandbox-uploads"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS")
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Object keys as clients send them: any printable text, "/" included, never empty.
keys = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40)
media_types = st.from_regex(r"[a-z]{1,12}/[a-z0-9][a-z0-9.+-]{0,20}", fullmatch=True)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=30)
query_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)


def _encode(pairs: tuple[tuple[str, str], ...]) -> str:
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


def _normalised(value: str) -> str:
    """What SigV4 signs of a header value (surrounding blanks dropped, inner runs collapsed)."""
    return " ".join(value.split())


# -- SigV4 presigned URLs ---------------------------------------------------------------------
@dataclass(frozen=True)
class Presigned:
    """A request for an issued presigned URL; each field can be swapped for a tampered one."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    signed_at: datetime
    expires: int

    def verify(self, now: datetime | None = None) -> sigv4.VerifiedPresign:
        return sigv4.verify_presigned(
            method=self.method,
            path=self.path,
            query_string=_encode(self.params),
            headers=Headers(
                raw=[(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]
            ),
            now=now or self.signed_at + timedelta(seconds=self.expires // 2),
            credentials=KNOWN,
        )

    def param(self, name: str) -> str:
        return dict(self.params)[name]

    def with_params(self, params: list[tuple[str, str]]) -> Presigned:
        return replace(self, params=tuple(params))

    def with_headers(self, headers: list[tuple[str, str]]) -> Presigned:
        return replace(self, headers=tuple(headers))


@st.composite
def presigned(draw: st.DrawFn, method: str | None = None) -> Presigned:
    """An issued PUT (optionally with a signed Content-Type) or GET (optionally with a signed disposition)."""
    method = method or draw(st.sampled_from(["PUT", "GET"]))
    key = draw(keys, label="key")
    expires = draw(st.integers(1, sigv4.MAX_EXPIRES), label="expires")
    signed_at = T0 + timedelta(seconds=draw(st.integers(0, 3 * 365 * 86400), label="signed_at"))
    content_type = draw(st.none() | media_types, label="content_type") if method == "PUT" else None
    disposition = draw(st.none() | query_text.filter(bool), label="disposition") if method == "GET" else None
    url = presign.presign_url(
        method=method,
        base_url=BASE,
        path=object_path(STORAGE_PREFIX, BUCKET, key),
        credentials=CREDS,
        now=signed_at,
        expires_in=expires,
        signed_headers={"content-type": content_type} if content_type else None,
        query={"response-content-disposition": disposition} if disposition else None,
    )
    parts = urlsplit(url)
    headers = [("Host", HOST)] + ([("Content-Type", content_type)] if content_type else [])
    return Presigned(
        method,
        parts.path,
        tuple(parse_qsl(parts.query, keep_blank_values=True)),
        tuple(headers),
        signed_at,
        expires,
    )


@PROPERTY
@given(request=presigned(), data=st.data())
def test_issued_presigned_url_is_accepted_throughout_its_window(
    request: Presigned, data: st.DataObject
) -> None:
    # S3 tolerates an X-Amz-Date up to 15 minutes ahead of its clock.
    elapsed = data.draw(st.integers(-int(sigv4.CLOCK_SKEW.total_seconds()), request.expires - 1))
    verified = request.verify(request.signed_at + timedelta(seconds=elapsed))
    assert verified.expires_at == request.signed_at + timedelta(seconds=request.expires)
    assert "host" in verified.signed_headers


@PROPERTY
@given(request=presigned(), late=st.integers(0, 10 * 365 * 86400))
def test_presigned_url_is_refused_from_its_expiry_on(request: Presigned, late: int) -> None:
    with pytest.raises(AccessDenied, match="Request has expired"):
        request.verify(request.signed_at + timedelta(seconds=request.expires + late))


@PROPERTY
@given(request=presigned(), method=st.sampled_from(METHODS))
def test_any_other_method_is_refused(request: Presigned, method: str) -> None:
    assume(method != request.method)
    with pytest.raises(SignatureDoesNotMatch):
        replace(request, method=method).verify()


@PROPERTY
@given(request=presigned(), other=keys)
def test_any_other_object_path_is_refused(request: Presigned, other: str) -> None:
    path = object_path(STORAGE_PREFIX, BUCKET, other)
    assume(path != request.path)
    with pytest.raises(SignatureDoesNotMatch):
        replace(request, path=path).verify()


@PROPERTY
@given(request=presigned(), data=st.data())
def test_removing_any_query_parameter_is_refused(request: Presigned, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([name for name, _ in request.params]))
    with pytest.raises(S3Error):
        request.with_params([(k, v) for k, v in request.params if k != name]).verify()


@PROPERTY
@given(request=presigned(), data=st.data())
def test_replacing_any_query_parameter_value_is_refused(request: Presigned, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([name for name, _ in request.params]))
    value = data.draw(query_text.filter(lambda text: text != request.param(name)), label="value")
    with pytest.raises(S3Error):
        request.with_params([(k, value if k == name else v) for k, v in request.params]).verify()


@PROPERTY
@given(request=presigned(), data=st.data())
def test_renaming_any_query_parameter_is_refused(request: Presigned, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([name for name, _ in request.params]))
    renamed = data.draw(
        st.sampled_from([name.lower(), name.upper(), name + "_", "x" + name]), label="renamed"
    )
    assume(renamed != name)
    with pytest.raises(S3Error):
        request.with_params([(renamed if k == name else k, v) for k, v in request.params]).verify()


@PROPERTY
@given(request=presigned(), name=query_text.filter(bool), value=query_text)
def test_adding_any_query_parameter_is_refused(request: Presigned, name: str, value: str) -> None:
    # A new name, or another value for one already signed (both end up in the canonical query).
    # A second X-Amz-Signature is left out: the first one is the signature checked, and the rest of
    # the query is what it covers.
    assume(name != "X-Amz-Signature" and (name, value) not in request.params)
    position = len(request.params) // 2
    params = [*request.params[:position], (name, value), *request.params[position:]]
    with pytest.raises(S3Error):
        request.with_params(params).verify()


@PROPERTY
@given(request=presigned(method="PUT").filter(lambda r: len(r.headers) == 2), value=header_values)
def test_any_other_signed_content_type_is_refused(request: Presigned, value: str) -> None:
    assume(_normalised(value) != dict(request.headers)["Content-Type"])
    with pytest.raises(SignatureDoesNotMatch):
        request.with_headers([("Host", HOST), ("Content-Type", value)]).verify()


@PROPERTY
@given(request=presigned(method="PUT").filter(lambda r: len(r.headers) == 2), value=header_values)
def test_repeating_a_signed_header_is_refused(request: Presigned, value: str) -> None:
    with pytest.raises(SignatureDoesNotMatch):
        request.with_headers([*request.headers, ("Content-Type", value)]).verify()


@PROPERTY
@given(request=presigned(), data=st.data())
def test_removing_any_signed_header_is_refused(request: Presigned, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([name for name, _ in request.headers]))
    with pytest.raises(SignatureDoesNotMatch):
        request.with_headers([(k, v) for k, v in request.headers if k != name]).verify()


@PROPERTY
@given(request=presigned(), host=st.from_regex(r"[a-z0-9.-]{1,20}(:[0-9]{1,5})?", fullmatch=True))
def test_any_other_host_is_refused(request: Presigned, host: str) -> None:
    assume(host != HOST)
    with pytest.raises(SignatureDoesNotMatch):
        request.with_headers([(k, host if k == "Host" else v) for k, v in request.headers]).verify()


@PROPERTY
@given(request=presigned(), suffix=st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True), value=header_values)
def test_an_unsigned_amz_header_is_refused(request: Presigned, suffix: str, value: str) -> None:
    name = f"x-amz-{suffix}"
    assume(name not in sigv4.UNSIGNED_AMZ_HEADERS)
    with pytest.raises(AccessDenied, match="not signed"):
        request.with_headers([*request.headers, (name, value)]).verify()


# -- GCS-style signed download links ------------------------------------------------------------
@dataclass(frozen=True)
class Download:
    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    host: str
    signed_at: datetime
    expires: int

    def verify(self, now: datetime | None = None) -> None:
        signed_urls.verify_download_url(
            method=self.method,
            path=self.path,
            query_string=_encode(self.params),
            host=self.host,
            now=now or self.signed_at + timedelta(seconds=self.expires // 2),
            credentials=KNOWN,
        )


@st.composite
def downloads(draw: st.DrawFn) -> Download:
    key = draw(keys, label="key")
    expires = draw(st.integers(1, sigv4.MAX_EXPIRES), label="expires")
    signed_at = T0 + timedelta(seconds=draw(st.integers(0, 3 * 365 * 86400), label="signed_at"))
    url = signed_urls.sign_download_url(
        base_url=BASE,
        path=object_path(DOWNLOAD_PREFIX, BUCKET, key),
        credentials=CREDS,
        now=signed_at,
        expires_in=expires,
    )
    parts = urlsplit(url)
    return Download(
        "GET", parts.path, tuple(parse_qsl(parts.query, keep_blank_values=True)), HOST, signed_at, expires
    )


@PROPERTY
@given(link=downloads(), data=st.data())
def test_issued_download_link_is_accepted_until_it_expires(link: Download, data: st.DataObject) -> None:
    link.verify(link.signed_at + timedelta(seconds=data.draw(st.integers(0, link.expires - 1))))
    with pytest.raises(S3Error):
        link.verify(link.signed_at + timedelta(seconds=link.expires + data.draw(st.integers(0, 10**6))))


@PROPERTY
@given(
    link=downloads(),
    method=st.sampled_from(METHODS),
    other=keys,
    host=st.sampled_from(["localhost:8080", "127.0.0.1:9090"]),
)
def test_download_link_serves_only_its_method_path_and_host(
    link: Download, method: str, other: str, host: str
) -> None:
    path = object_path(DOWNLOAD_PREFIX, BUCKET, other)
    if method != link.method:
        with pytest.raises(SignatureDoesNotMatch):
            replace(link, method=method).verify()
    if path != link.path:
        with pytest.raises(SignatureDoesNotMatch):
            replace(link, path=path).verify()
    with pytest.raises(SignatureDoesNotMatch):
        replace(link, host=host).verify()


@PROPERTY
@given(link=downloads(), data=st.data())
def test_any_single_change_to_a_download_query_is_refused(link: Download, data: st.DataObject) -> None:
    names = [name for name, _ in link.params]
    change = data.draw(st.sampled_from(["remove", "replace", "add"]), label="change")
    name = data.draw(st.sampled_from(names), label="name")
    if change == "remove":
        params = [(k, v) for k, v in link.params if k != name]
    elif change == "replace":
        value = data.draw(query_text.filter(lambda text: text != dict(link.params)[name]), label="value")
        params = [(k, value if k == name else v) for k, v in link.params]
    else:
        extra = data.draw(st.tuples(query_text.filter(bool), query_text), label="extra")
        assume(extra[0] != "X-Goog-Signature" and extra not in link.params)
        params = [*link.params[:2], extra, *link.params[2:]]
    with pytest.raises(S3Error):
        replace(link, params=tuple(params)).verify()


# -- POST policies --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PostForm:
    fields: tuple[tuple[str, str], ...]
    file_name: str
    signed_at: datetime
    expires: int
    key: str
    key_starts_with: bool

    def verify(
        self,
        fields: list[tuple[str, str]] | None = None,
        now: datetime | None = None,
        file_name: str | None = None,
    ) -> post_policy.PostPolicyGrant:
        return post_policy.verify_post_fields(
            bucket=BUCKET,
            fields=list(self.fields if fields is None else fields),
            file_name=self.file_name if file_name is None else file_name,
            now=now or self.signed_at + timedelta(seconds=self.expires // 2),
            credentials=KNOWN,
            region=REGION,
        )

    def value(self, name: str) -> str:
        return dict(self.fields)[name]


field_names = st.from_regex(r"x-amz-meta-[a-z0-9-]{1,12}", fullmatch=True)
field_values = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@st.composite
def post_forms(draw: st.DrawFn) -> PostForm:
    """A form as a vendor issues it: a key (or key prefix), a Content-Type, a status and metadata."""
    key_starts_with = draw(st.booleans(), label="key_starts_with")
    key = draw(keys, label="key")
    fields = {"Content-Type": draw(media_types, label="content_type")}
    if draw(st.booleans(), label="with_status"):
        fields["success_action_status"] = draw(st.sampled_from(["200", "201", "204"]))
    fields.update(draw(st.dictionaries(field_names, field_values, max_size=3), label="metadata"))
    expires = draw(st.integers(1, 7 * 86400), label="expires")
    signed_at = T0 + timedelta(seconds=draw(st.integers(0, 3 * 365 * 86400), label="signed_at"))
    issued = post_policy.presign_post(
        bucket=BUCKET,
        key=key,
        credentials=CREDS,
        now=signed_at,
        expires_in=expires,
        fields=fields,
        key_starts_with=key_starts_with,
    )
    return PostForm(tuple(issued.items()), "upload.bin", signed_at, expires, key, key_starts_with)


@PROPERTY
@given(form=post_forms(), data=st.data())
def test_issued_post_form_is_accepted_until_it_expires(form: PostForm, data: st.DataObject) -> None:
    grant = form.verify(now=form.signed_at + timedelta(seconds=data.draw(st.integers(0, form.expires - 1))))
    assert grant.key == form.key
    assert grant.content_type == form.value("Content-Type")
    with pytest.raises(AccessDenied, match="Policy expired"):
        form.verify(now=form.signed_at + timedelta(seconds=form.expires + data.draw(st.integers(0, 10**6))))


@PROPERTY
@given(form=post_forms(), data=st.data())
def test_removing_any_form_field_is_refused(form: PostForm, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([name for name, _ in form.fields]))
    with pytest.raises(S3Error):
        form.verify([(k, v) for k, v in form.fields if k != name])


@PROPERTY
@given(form=post_forms(), data=st.data())
def test_replacing_any_form_field_value_is_refused(form: PostForm, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([name for name, _ in form.fields]))
    original = form.value(name)
    value = data.draw(field_values.filter(lambda text: text != original), label="value")
    # With a key prefix, any key under the prefix is what the policy allows.
    assume(not (name == "key" and form.key_starts_with and value.startswith(form.key)))
    with pytest.raises(S3Error):
        form.verify([(k, value if k == name else v) for k, v in form.fields])


@PROPERTY
@given(
    form=post_forms(),
    name=field_names
    | st.sampled_from(["acl", "Cache-Control", "success_action_redirect", "x-amz-storage-class", "tagging"]),
    value=field_values,
)
def test_adding_a_field_the_policy_does_not_cover_is_refused(form: PostForm, name: str, value: str) -> None:
    assume(name.lower() not in {k.lower() for k, _ in form.fields})
    position = len(form.fields) // 2
    fields = [*form.fields[:position], (name, value), *form.fields[position:]]
    with pytest.raises(AccessDenied, match="Extra input fields"):
        form.verify(fields)


@PROPERTY
@given(form=post_forms(), data=st.data())
def test_a_repeated_field_is_refused(form: PostForm, data: st.DataObject) -> None:
    # A second copy of a field could smuggle a value past the check that read the first one.
    name = data.draw(st.sampled_from([n for n, _ in form.fields]))
    with pytest.raises(InvalidArgument, match="only once"):
        form.verify([*form.fields, (name.upper(), data.draw(field_values, label="value"))])


def _policy(form: PostForm) -> dict[str, Any]:
    return json.loads(base64.b64decode(form.value("policy")))


def _with_policy(form: PostForm, document: dict[str, Any]) -> list[tuple[str, str]]:
    text = base64.b64encode(json.dumps(document).encode("utf-8")).decode("ascii")
    return [(k, text if k == "policy" else v) for k, v in form.fields]


@PROPERTY
@given(form=post_forms(), data=st.data())
def test_any_change_to_the_policy_document_is_refused(form: PostForm, data: st.DataObject) -> None:
    document = _policy(form)
    change = data.draw(st.sampled_from(["expiration", "drop", "loosen", "add"]), label="change")
    if change == "expiration":
        document["expiration"] = (form.signed_at + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    elif change == "drop":
        document["conditions"].pop(data.draw(st.integers(0, len(document["conditions"]) - 1)))
    elif change == "loosen":
        document["conditions"][1] = ["starts-with", "$key", ""]
    else:
        document["conditions"].append(["content-length-range", 0, data.draw(st.integers(0, 10**12))])
    # Same signature, other policy: the signature covers the base64 text, so any edit mismatches.
    with pytest.raises(SignatureDoesNotMatch):
        form.verify(_with_policy(form, document))


@PROPERTY
@given(form=post_forms().filter(lambda f: f.key_starts_with), suffix=field_values, other=keys)
def test_a_key_prefix_allows_exactly_the_keys_under_it(form: PostForm, suffix: str, other: str) -> None:
    fields = [(k, form.key + suffix if k == "key" else v) for k, v in form.fields]
    assert form.verify(fields).key == form.key + suffix
    assume(not other.startswith(form.key))
    with pytest.raises(AccessDenied, match="Policy Condition failed"):
        form.verify([(k, other if k == "key" else v) for k, v in form.fields])


@PROPERTY
@given(form=post_forms().filter(lambda f: f.key_starts_with), file_name=field_values)
def test_filename_variable_never_leaves_the_key_prefix(form: PostForm, file_name: str) -> None:
    prefix = form.key + "/"
    fields = [(k, prefix + "${filename}" if k == "key" else v) for k, v in form.fields]
    key = form.verify(fields, file_name=file_name).key
    assert key.startswith(prefix)
    assert "/" not in key[len(prefix) :] and "\\" not in key[len(prefix) :]


@PROPERTY
@given(low=st.integers(0, 10**9), span=st.integers(0, 10**9), size=st.integers(0, 3 * 10**9))
def test_content_length_range_is_inclusive(low: int, span: int, size: int) -> None:
    grant = post_policy.PostPolicyGrant(
        key="k",
        content_type=None,
        success_action_status=None,
        success_action_redirect=None,
        min_size=low,
        max_size=low + span,
        access_key_id=AKID,
        expires_at=T0,
    )
    if size > low + span:
        with pytest.raises(EntityTooLarge):
            post_policy.check_size(grant, size)
    elif size < low:
        with pytest.raises(EntityTooSmall):
            post_policy.check_size(grant, size)
        post_policy.check_size(grant, size, final=False)  # while streaming only the maximum applies
    else:
        post_policy.check_size(grant, size)
