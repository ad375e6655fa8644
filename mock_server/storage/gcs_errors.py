"""Google Cloud Storage's XML API errors: ``<Error><Code/><Message/><Details/>[<ParameterName/>...]``.

GCS writes no ``RequestId``/``HostId`` elements (unlike S3). The classes subclass the S3 ones of the
same code, so callers catching ``SignatureDoesNotMatch`` or ``ExpiredToken`` still do.
"""

from __future__ import annotations

from xml.etree import ElementTree

from mock_server.storage.s3_errors import ExpiredToken, InvalidArgument, S3Error, SignatureDoesNotMatch


def gcs_xml(error: S3Error) -> bytes:
    """GCS's body for ``error`` (any of the storage errors: a download's 416 or 412 too)."""
    root = ElementTree.Element("Error")
    ElementTree.SubElement(root, "Code").text = error.code
    ElementTree.SubElement(root, "Message").text = error.message
    for name, value in error.extra.items():
        ElementTree.SubElement(root, name).text = value
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


class GcsError(S3Error):
    def to_xml(self, request_id: str, host_id: str = "") -> bytes:
        """GCS's body; ``request_id`` and ``host_id`` are not part of it."""
        return gcs_xml(self)


class MalformedSecurityHeader(GcsError):
    status = 400
    code = "MalformedSecurityHeader"
    default_message = "Your request has a malformed header."


class GcsSignatureDoesNotMatch(GcsError, SignatureDoesNotMatch):
    pass


class GcsExpiredToken(GcsError, ExpiredToken):
    pass


class GcsInvalidArgument(GcsError, InvalidArgument):
    pass
