"""S3's error vocabulary and its XML ``<Error>`` body.

One class per S3 error code. Each carries the HTTP status S3 uses, the verbatim message and
the code-specific extra elements in the order S3 writes them. ``to_xml`` renders the body that
S3 sends; the storage routes add the ``x-amz-request-id``/``x-amz-id-2`` headers.
"""

from __future__ import annotations

from collections.abc import Mapping

from mock_server.core.errors import SandboxError
from mock_server.storage.xml import document

SIGNATURE_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


class S3Error(SandboxError):
    """An S3 refusal: ``status``, ``code``, ``message`` and ordered extra elements."""

    status = 400
    code = "InvalidRequest"
    default_message = ""

    def __init__(
        self, message: str | None = None, extra: Mapping[str, object] | None = None, **elements: object
    ) -> None:
        """``extra`` keeps names Python cannot spell (``X-Amz-Expires``); ``elements`` the rest."""
        self.message = message if message is not None else self.default_message
        merged = {**(extra or {}), **elements}
        self.extra = {name: "" if value is None else str(value) for name, value in merged.items()}
        self.headers: dict[str, str] = {}
        self.details: dict[str, object] = {}
        Exception.__init__(self, f"{self.code}: {self.message}")

    def to_xml(self, request_id: str, host_id: str = "") -> bytes:
        elements = [("Code", self.code), ("Message", self.message), *self.extra.items()]
        return document("Error", [*elements, ("RequestId", request_id), ("HostId", host_id)])


class AccessDenied(S3Error):
    status = 403
    code = "AccessDenied"
    default_message = "Access Denied"


class SignatureDoesNotMatch(S3Error):
    status = 403
    code = "SignatureDoesNotMatch"
    default_message = SIGNATURE_MISMATCH_MESSAGE


class InvalidAccessKeyId(S3Error):
    status = 403
    code = "InvalidAccessKeyId"
    default_message = "The AWS Access Key Id you provided does not exist in our records."


class InvalidToken(S3Error):
    """A session token that does not belong to the temporary access key it came with."""

    status = 400
    code = "InvalidToken"
    default_message = "The provided token is malformed or otherwise invalid."


class AuthorizationQueryParametersError(S3Error):
    status = 400
    code = "AuthorizationQueryParametersError"
    default_message = (
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
        "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
    )


class InvalidArgument(S3Error):
    status = 400
    code = "InvalidArgument"


class InvalidRequest(S3Error):
    status = 400
    code = "InvalidRequest"


class InvalidPolicyDocument(S3Error):
    status = 400
    code = "InvalidPolicyDocument"


class EntityTooLarge(S3Error):
    status = 400
    code = "EntityTooLarge"
    default_message = "Your proposed upload exceeds the maximum allowed size"


class EntityTooSmall(S3Error):
    status = 400
    code = "EntityTooSmall"
    default_message = "Your proposed upload is smaller than the minimum allowed size"


class MissingContentLength(S3Error):
    status = 411
    code = "MissingContentLength"
    default_message = "You must provide the Content-Length HTTP header."


class IncompleteBody(S3Error):
    status = 400
    code = "IncompleteBody"
    default_message = "You did not provide the number of bytes specified by the Content-Length HTTP header"


class MalformedPOSTRequest(S3Error):
    status = 400
    code = "MalformedPOSTRequest"
    default_message = "The body of your POST request is not well-formed multipart/form-data."


class MaxPostPreDataLengthExceeded(S3Error):
    status = 400
    code = "MaxPostPreDataLengthExceeded"
    default_message = "Your POST request fields preceeding the upload file was too large."


class PreconditionFailed(S3Error):
    status = 412
    code = "PreconditionFailed"
    default_message = "At least one of the pre-conditions you specified did not hold"


class InvalidDigest(S3Error):
    """A Content-MD5 that is not the base64 of 16 bytes; S3 echoes it as ``<Content-MD5>``."""

    status = 400
    code = "InvalidDigest"
    default_message = "The Content-MD5 you specified was invalid."


class BadDigest(S3Error):
    """The body does not match its Content-MD5 (or an ``x-amz-checksum-*`` value)."""

    status = 400
    code = "BadDigest"
    default_message = "The Content-MD5 you specified did not match what we received."


class InvalidRange(S3Error):
    status = 416
    code = "InvalidRange"
    default_message = "The requested range is not satisfiable"


class KeyTooLongError(S3Error):
    status = 400
    code = "KeyTooLongError"
    default_message = "Your key is too long"


class NotImplementedHeader(S3Error):
    """S3's 501 ``NotImplemented`` for a header it does not support, named in ``<Header>``."""

    status = 501
    code = "NotImplemented"
    default_message = "A header you provided implies functionality that is not implemented"


class MetadataTooLarge(S3Error):
    status = 400
    code = "MetadataTooLarge"
    default_message = "Your metadata headers exceed the maximum allowed metadata size."


class NoSuchKey(S3Error):
    status = 404
    code = "NoSuchKey"
    default_message = "The specified key does not exist."


class NoSuchBucket(S3Error):
    status = 404
    code = "NoSuchBucket"
    default_message = "The specified bucket does not exist"


class MethodNotAllowed(S3Error):
    status = 405
    code = "MethodNotAllowed"
    default_message = "The specified method is not allowed against this resource."


class ExpiredToken(S3Error):
    """GCS-style download links use this code for an expired signature (XML, like S3)."""

    status = 400
    code = "ExpiredToken"
    default_message = "Invalid argument."


class InternalError(S3Error):
    status = 500
    code = "InternalError"
    default_message = "We encountered an internal error. Please try again."


class SlowDown(S3Error):
    status = 503
    code = "SlowDown"
    default_message = "Please reduce your request rate."


class ServiceUnavailable(S3Error):
    status = 503
    code = "ServiceUnavailable"
    default_message = "Service is unable to handle request."


class StorageFull(S3Error):
    """The sandbox's own cap on stored objects (count or bytes) is reached; real S3 has none.

    507 (not 503) so SDKs do not retry: it lasts until objects are deleted or the sandbox is reset.
    """

    status = 507
    code = "StorageFull"
    default_message = "The sandbox holds its maximum of stored objects; reset it (POST /__admin/reset)."


ERRORS_BY_STATUS: dict[int, type[S3Error]] = {
    400: InvalidRequest,
    403: AccessDenied,
    404: NoSuchKey,
    405: MethodNotAllowed,
    411: MissingContentLength,
    412: PreconditionFailed,
    416: InvalidRange,
    500: InternalError,
    501: NotImplementedHeader,
    503: SlowDown,
}
