"""Reading a form body the way FastAPI's ``request.form()`` does, but streamed and capped.

``multipart/form-data`` is parsed with ``core.multipart`` (files spooled while read, per-file and
per-request caps enforced while streaming); ``application/x-www-form-urlencoded`` is read whole (capped);
any other content type gives an empty form without reading the body, as Starlette does. Refusals use
Starlette's own messages where it has them (400 ``{"detail": ...}``); the size caps are the sandbox's and
answer 413.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from mock_server.core.bodies import declared_length, read_json_bytes
from mock_server.core.errors import BodyTooLarge, MalformedBody
from mock_server.core.multipart import FilePart, Limits, MultipartForm, TooManyParts, parse_multipart
from mock_server.vendors.decoda.errors import BadRequest, PayloadTooLarge
from mock_server.vendors.decoda.fixtures import DecodaConfig

Value = str | FilePart
FIELDS_PER_REQUEST = 1000  # Starlette's max_fields


@dataclass
class FormData:
    """Every part in wire order, text values as ``str`` and files as ``FilePart``."""

    entries: list[tuple[str, Value]] = field(default_factory=list)

    def values(self, name: str) -> list[Value]:
        return [value for key, value in self.entries if key == name]

    def close(self) -> None:
        """Close the spooled files (bodies handed to the object store are detached and stay open)."""
        for _, value in self.entries:
            if isinstance(value, FilePart):
                value.body.close()


def _media_type(content_type: str) -> bytes:
    return parse_options_header(content_type)[0]


async def read_form(request: Request, config: DecodaConfig) -> FormData:
    """The request's form fields and files.

    Raises:
        PayloadTooLarge: the body, or one file, went past its cap (checked while streaming).
        BadRequest: broken multipart (Starlette's messages), too many files or fields, a field over 1 MiB.
    """
    content_type = request.headers.get("content-type", "")
    media = _media_type(content_type)
    if media not in (b"multipart/form-data", b"application/x-www-form-urlencoded"):
        return FormData()
    try:
        declared = declared_length(request.headers.get("content-length"))
    except MalformedBody as exc:
        raise BadRequest("Invalid Content-Length header") from exc
    if declared is not None and declared > config.max_request_bytes:
        raise _too_large(config, config.max_request_bytes)
    if media == b"application/x-www-form-urlencoded":
        try:
            raw = await read_json_bytes(request.stream(), config.max_request_bytes)
        except BodyTooLarge as exc:
            raise _too_large(config, exc.limit) from exc
        pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return FormData([(name, value) for name, value in pairs])
    if not parse_options_header(content_type)[1].get(b"boundary"):
        raise BadRequest("Missing boundary in multipart.")
    return await _read_multipart(request, content_type, config)


async def _read_multipart(request: Request, content_type: str, config: DecodaConfig) -> FormData:
    limits = Limits(
        max_file_bytes=config.max_file_bytes,
        max_total_bytes=config.max_request_bytes,
        max_parts=config.max_files + FIELDS_PER_REQUEST,
        max_field_bytes=config.max_field_bytes,
        max_files=config.max_files,
    )
    fields_before_file: list[int] = []

    def record_position(form: MultipartForm, _name: str, _filename: str, _type: str | None) -> int | None:
        fields_before_file.append(len(form.fields))
        return None

    try:
        form = await parse_multipart(request.stream(), content_type, limits, record_position)
    except BodyTooLarge as exc:
        if exc.limit == config.max_field_bytes and exc.limit not in (
            config.max_file_bytes,
            config.max_request_bytes,
        ):
            raise BadRequest(f"Part exceeded maximum size of {config.max_field_bytes // 1024}KB.") from exc
        raise _too_large(config, exc.limit) from exc
    except TooManyParts as exc:
        if "files" in exc.message:
            raise BadRequest(f"Too many files. Maximum number of files is {config.max_files}.") from exc
        raise BadRequest(f"Too many fields. Maximum number of fields is {FIELDS_PER_REQUEST}.") from exc
    except MalformedBody as exc:
        if "no form-data name" in exc.message:
            raise BadRequest('The Content-Disposition header field "name" must be provided.') from exc
        raise BadRequest("Invalid multipart data.") from exc
    return _in_wire_order(form, fields_before_file)


def _in_wire_order(form: MultipartForm, fields_before_file: list[int]) -> FormData:
    entries: list[tuple[str, Value]] = []
    next_field = 0
    for part, preceding in zip(form.files, fields_before_file, strict=True):
        entries += form.fields[next_field:preceding]
        next_field = max(next_field, preceding)
        entries.append((part.name, part))
    entries += form.fields[next_field:]
    return FormData(entries)


def _too_large(config: DecodaConfig, limit: int) -> PayloadTooLarge:
    if limit == config.max_request_bytes:
        return PayloadTooLarge(f"Request body too large: the limit is {config.max_request_bytes} bytes")
    return PayloadTooLarge(f"File too large: each attachment may be at most {config.max_file_bytes} bytes")
