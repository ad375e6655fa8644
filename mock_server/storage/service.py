"""What vendors ask of storage: issue URLs and policies that point back at the sandbox.

``Storage`` issues presigned PUT/GET URLs, POST policies and GCS-style download links with the
sandbox credentials and the sandbox clock. An upload URL carries, signed, the limits real S3 cannot
express (a size cap, single use: storage/grants.py), which the upload route enforces.
URLs use the base URL the vendor passes in: by default the scheme and Host of the request that
asked for them, so they work through docker port maps and CI service host names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol
from urllib.parse import quote

from mock_server.core.clock import Clock
from mock_server.storage import post_policy, presign, signed_urls
from mock_server.storage.grants import UNKNOWN_GRANT, GrantBook, UploadGrant, decode, encode
from mock_server.storage.s3 import ObjectStore
from mock_server.storage.s3_errors import AccessDenied
from mock_server.storage.sigv4 import SigningCredentials

S3_MAX_OBJECT = 5 * 1024**3
STORAGE_PREFIX = "/s3"
# Signed into every upload URL the sandbox issues: its limits (storage/grants.py ``encode``). S3 ignores
# unknown parameters.
GRANT_PARAM = "x-sandbox-grant"
DOWNLOAD_PREFIX = "/gcs"
# what quote(key, safe="/~") leaves as it is
_PLAIN_KEY_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~/-"


class IssuedUrl(NamedTuple):
    """A presigned URL and the instant it expires (a tuple: built per upload URL, twice as fast)."""

    url: str
    expires_at: datetime


SHAPES_KEPT = 64


class _Shape(NamedTuple):
    signer: presign.QuerySigner
    expires_at: datetime


class DownloadSigner(NamedTuple):
    """Presigned GET URLs of one bucket, all signed at one instant (``Storage.download_signer``)."""

    shape: _Shape
    bucket: str

    @property
    def expires_at(self) -> datetime:
        return self.shape.expires_at

    def urls(self, keys: Sequence[str]) -> list[str]:
        """A URL per key, in order."""
        sign, bucket = self.shape.signer.sign, self.bucket
        return [sign(object_path(STORAGE_PREFIX, bucket, key))[0] for key in keys]


def object_path(prefix: str, bucket: str, key: str) -> str:
    """Wire path of an object: ``/s3/<bucket>/<key>`` with the key percent-encoded (``/`` kept)."""
    # nothing to encode (most keys): skip quote()'s work. Deleting the plain bytes leaves nothing: a C
    # loop, twice as fast as a regex over the key's characters
    if key.isascii() and not key.encode("ascii").translate(None, _PLAIN_KEY_BYTES):
        return f"{prefix}/{bucket}/{key}"
    return f"{prefix}/{bucket}/{quote(key, safe='/~')}"


def upload_cap(grant: UploadGrant | None) -> int:
    """Bytes an upload through a URL carrying ``grant`` may send: its cap, never past S3's 5 GiB (a URL
    signed with the sandbox credentials by someone else may carry any cap)."""
    if grant is None or grant.max_bytes is None:
        return S3_MAX_OBJECT
    return min(grant.max_bytes, S3_MAX_OBJECT)


class Grants(Protocol):
    """Where single-use URLs' claims live: ``storage.grants.GrantBook`` or
    ``storage.shared_grants.SharedGrantBook``."""

    def epoch(self) -> str: ...
    def sweeps(self) -> int: ...
    def swept_since(self, count: int) -> float: ...
    def claim(self, signature: str, expires_at: float, epoch: str, sweeps: int) -> None: ...
    def finish(self, signature: str, *, succeeded: bool) -> None: ...
    def reset(self) -> None: ...


def _host_of(base_url: str) -> str:
    return base_url.split("://", 1)[-1].split("/", 1)[0]


class Storage:
    def __init__(
        self,
        objects: ObjectStore,
        credentials: SigningCredentials,
        clock: Clock,
        grants: Grants | None = None,
    ) -> None:
        """``grants``: where single-use URLs' claims live (this process's ``GrantBook`` unless given)."""
        self.objects = objects
        self.credentials = credentials
        self.clock = clock
        self.grants: Grants = grants if grants is not None else GrantBook(clock)
        self._shapes: dict[tuple[object, ...], _Shape] = {}

    @property
    def known_credentials(self) -> dict[str, SigningCredentials]:
        return {self.credentials.access_key_id: self.credentials}

    def _signing_time(self, expires_in: float, now: float | None = None) -> tuple[datetime, int]:
        """Signing instant (the clock's, or ``now`` in epoch seconds, to the whole second) and X-Amz-Expires
        for a lifetime; lifetimes <= 0 give already-expired URLs."""
        instant = datetime.fromtimestamp(self.clock.time() if now is None else now, tz=UTC)
        instant = instant.replace(microsecond=0)
        if expires_in >= 1:
            return instant, int(expires_in)
        return instant + timedelta(seconds=int(expires_in) - 1), 1

    def _shape(
        self, method: str, base_url: str, expires_in: float, header: str | None, query: tuple[str, str] | None
    ) -> _Shape:
        """What every URL signed this second for ``method``, ``base_url``, lifetime, signed content type
        (``header``) and extra query parameter shares: the signer (everything but the path) and the expiry.
        At most ``SHAPES_KEPT`` are kept (all dropped when full)."""
        now = self.clock.time()
        credentials = self.credentials
        # keyed by the second the signing instant falls in (datetime rounds to the microsecond first)
        shape_key = (method, base_url, expires_in, header, query, math.floor(round(now, 6)), id(credentials))
        shape = self._shapes.get(shape_key)
        if shape is None or shape.signer.credentials is not credentials:  # (an id may be reused)
            signed_at, expires = self._signing_time(expires_in, now)
            signer = presign.QuerySigner(
                method=method,
                base_url=base_url,
                credentials=credentials,
                now=signed_at,
                expires_in=expires,
                signed_headers={"content-type": header} if header else None,
                query=dict([query]) if query else None,
            )
            expires_at = signed_at + timedelta(seconds=expires)
            shape = _Shape(signer, expires_at)
            if len(self._shapes) >= SHAPES_KEPT:
                self._shapes.clear()
            self._shapes[shape_key] = shape
        return shape

    def presign_put(
        self,
        base_url: str,
        bucket: str,
        key: str,
        *,
        expires_in: float,
        content_type: str | None = None,
        max_bytes: int | None = None,
        single_use: bool = False,
    ) -> IssuedUrl:
        """A presigned PUT of ``key`` with its limits signed in (see ``presign_puts``)."""
        return self.presign_puts(
            base_url,
            bucket,
            [(key, content_type)],
            expires_in=expires_in,
            max_bytes=max_bytes,
            single_use=single_use,
        )[0]

    def presign_puts(
        self,
        base_url: str,
        bucket: str,
        uploads: Sequence[tuple[str, str | None]],
        *,
        expires_in: float,
        max_bytes: int | None = None,
        single_use: bool = False,
    ) -> list[IssuedUrl]:
        """A presigned PUT per ``(key, content type)`` (the type signed in when given), valid ``expires_in``
        seconds, in order, each with its limits (``max_bytes`` cap, ``single_use``) signed in as
        ``x-sandbox-grant``: nothing is stored per URL."""
        books = self.grants
        grant = encode(UploadGrant(single_use, max_bytes, books.epoch(), books.sweeps(), _host_of(base_url)))
        shapes: dict[str | None, _Shape] = {}
        issued: list[IssuedUrl] = []
        for key, content_type in uploads:
            shape = shapes.get(content_type)
            if shape is None:
                shape = shapes[content_type] = self._shape(
                    "PUT", base_url, expires_in, content_type, (GRANT_PARAM, grant)
                )
            issued.append(
                IssuedUrl(shape.signer.sign(object_path(STORAGE_PREFIX, bucket, key))[0], shape.expires_at)
            )
        return issued

    def download_signer(self, base_url: str, bucket: str, *, expires_in: float) -> DownloadSigner:
        """Presigned GETs in ``bucket`` signed at this instant by one signer, valid ``expires_in`` seconds:
        a listing signs its items' URLs with it (in slices, all at that instant)."""
        return DownloadSigner(self._shape("GET", base_url, expires_in, None, None), bucket)

    def presign_get(
        self,
        base_url: str,
        bucket: str,
        key: str,
        *,
        expires_in: float,
        content_disposition: str | None = None,
    ) -> IssuedUrl:
        """A presigned GET; ``content_disposition`` is signed in as ``response-content-disposition``.
        URLs without one signed in one second share their signer (a listing signs one per item)."""
        path = object_path(STORAGE_PREFIX, bucket, key)
        if not content_disposition:
            shape = self._shape("GET", base_url, expires_in, None, None)
            return IssuedUrl(shape.signer.sign(path)[0], shape.expires_at)
        # a disposition names its file: one shape per URL, so none is kept
        signed_at, expires = self._signing_time(expires_in)
        url = presign.presign_url(
            method="GET",
            base_url=base_url,
            path=path,
            credentials=self.credentials,
            now=signed_at,
            expires_in=expires,
            query={"response-content-disposition": content_disposition},
        )
        return IssuedUrl(url, signed_at + timedelta(seconds=expires))

    def presign_post(
        self, base_url: str, bucket: str, key: str, *, expires_in: float, **options: object
    ) -> tuple[str, dict[str, str], datetime]:
        """POST policy for ``bucket``: ``(url, fields, expires_at)``; ``options`` go to ``presign_post``."""
        signed_at, expires = self._signing_time(expires_in)
        fields = post_policy.presign_post(
            bucket=bucket,
            key=key,
            credentials=self.credentials,
            now=signed_at,
            expires_in=expires,
            **options,  # type: ignore[arg-type]
        )
        return f"{base_url}{STORAGE_PREFIX}/{bucket}", fields, signed_at + timedelta(seconds=expires)

    def download_url(self, base_url: str, bucket: str, key: str, *, expires_in: float) -> IssuedUrl:
        signed_at, expires = self._signing_time(expires_in)
        # The GCS canonical request covers the whole path, so a session's prefix is signed too.
        scheme, _, rest = base_url.partition("://")
        host, slash, base_path = rest.partition("/")
        url = signed_urls.sign_download_url(
            base_url=f"{scheme}://{host}",
            path=(slash + base_path).rstrip("/") + object_path(DOWNLOAD_PREFIX, bucket, key),
            credentials=self.credentials,
            now=signed_at,
            expires_in=expires,
        )
        return IssuedUrl(url, signed_at + timedelta(seconds=expires))

    # -- grants (used by the upload route) ------------------------------------------------
    @staticmethod
    def grant_in(params: Mapping[str, str]) -> UploadGrant | None:
        """The limits an upload URL's query (``params``) carries, or None (none, or not the sandbox's)."""
        value = params.get(GRANT_PARAM)
        return None if value is None else decode(value)

    def check_grant(self, params: Mapping[str, str], grant: UploadGrant | None, expires_at: datetime) -> None:
        """Raises: AccessDenied for a sandbox-issued upload URL (its signature verified, valid until
        ``expires_at``) whose limits are no longer known: from another epoch (issued before a reset or
        restart), or single-use and expired by the time of a sweep of claims made since its issue (its
        claim may be gone: the clock was moved back since)."""
        if GRANT_PARAM not in params:
            return
        if grant is None or grant.epoch != self.grants.epoch():
            raise AccessDenied(UNKNOWN_GRANT)
        if grant.single_use and expires_at.timestamp() <= self.grants.swept_since(grant.sweeps):
            raise AccessDenied(UNKNOWN_GRANT)

    def claim(self, signature: str, grant: UploadGrant | None, expires_at: datetime) -> None:
        """Reserve a single-use URL for one upload at a time (nothing for other URLs, e.g. made by boto3
        with the sandbox credentials). Raises: AccessDenied when it was used or is in use."""
        if grant is not None and grant.single_use:
            self.grants.claim(signature, expires_at.timestamp(), grant.epoch, grant.sweeps)

    def finish(self, signature: str, grant: UploadGrant | None, *, succeeded: bool) -> None:
        if grant is not None and grant.single_use:
            self.grants.finish(signature, succeeded=succeeded)

    def reset(self) -> None:
        self.grants.reset()
        self.objects.drop_uploads()
        self.objects.reset()
