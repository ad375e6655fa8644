"""How the storage routes answer: S3's XML errors with their request ids (GCS's on the download routes), the
ids S3 puts on every answer, and what the journal shows of a refused signature."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from mock_server.core.errors import SandboxError
from mock_server.core.requests import sandbox_of
from mock_server.core.sandbox import Sandbox
from mock_server.storage.gcs_errors import gcs_xml
from mock_server.storage.s3_errors import ERRORS_BY_STATUS, S3Error
from mock_server.storage.service import DOWNLOAD_PREFIX, STORAGE_PREFIX


def render_error(request: Request, exc: SandboxError) -> Response:
    """S3's XML error body with matching ``x-amz-request-id``/``x-amz-id-2`` headers; on the GCS-style
    download routes, GCS's body (no RequestId, HostId or x-amz headers), whatever the error."""
    error = exc if isinstance(exc, S3Error) else error_for_status(exc.status, exc.message)
    if request.scope["path"].startswith(DOWNLOAD_PREFIX + "/"):
        return Response(
            gcs_xml(error), status_code=error.status, headers=error.headers, media_type="application/xml"
        )
    request_id = getattr(request.state, "correlation_id", "") or "0"
    host_id = sandbox_of(request).ids.token(56) if hasattr(request.app.state, "sandbox") else ""
    headers = {"x-amz-request-id": request_id, "x-amz-id-2": host_id, **error.headers}
    if "CanonicalRequest" in error.extra or "StringToSign" in error.extra:
        request.state.signature_explanation = explanation_of(error)
    return Response(
        error.to_xml(request_id, host_id),
        status_code=error.status,
        headers=headers,
        media_type="application/xml",
    )


def s3_response_headers(sandbox: Sandbox, path: str, request_id: str) -> Mapping[str, str]:
    """What S3 puts on every answer, success or error: ``x-amz-request-id`` (the request's correlation id,
    as in an error body's RequestId) and ``x-amz-id-2``. Not on the GCS-style download routes."""
    if not path.startswith(STORAGE_PREFIX):
        return {}
    return {"x-amz-request-id": request_id, "x-amz-id-2": sandbox.ids.token(56)}


def explanation_of(error: S3Error) -> dict[str, str]:
    """What the journal shows for a refused signature: the sandbox's canonical request and string to sign
    (built from the request as received), the signature sent and, when known, the host that differs."""
    shown = {"code": error.code, "message": error.message}
    for name in ("CanonicalRequest", "StringToSign", "SignatureProvided", "AWSAccessKeyId", "Details"):
        if name in error.extra:
            shown[name[0].lower() + name[1:]] = error.extra[name]
    mismatch = getattr(error, "host_mismatch", None)
    if mismatch:
        shown["signedHost"], shown["requestHost"] = mismatch
    return shown


def error_for_status(status: int, message: str | None) -> S3Error:
    error_class = ERRORS_BY_STATUS.get(status, S3Error)
    error = error_class(message)
    error.status = status
    return error
