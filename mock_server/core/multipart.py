"""Streaming multipart/form-data parsing with caps, on python-multipart's push parser.

File parts are streamed through ``BodyWriter`` (capped, hashed, spooled); text fields are kept in
order. A caller-supplied ``before_file`` hook sees the fields received so far and the file part's
headers before any of its bytes are read, so policy checks can refuse an upload early.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from mock_server.core.bodies import BodyWriter, Hasher, SpooledBody
from mock_server.core.errors import BodyTooLarge, MalformedBody


@dataclass
class FilePart:
    """One file part: its field ``name``, the client's ``filename``, its Content-Type and the spooled body."""

    name: str
    filename: str
    content_type: str | None
    body: SpooledBody


@dataclass
class MultipartForm:
    """A parsed ``multipart/form-data`` body: text fields in order, file parts in order, and how
    many bytes came before the first file (vendors that cap the fields use it)."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[FilePart] = field(default_factory=list)
    bytes_before_first_file: int = 0
    # Set by a ``before_file`` hook: fed every byte of the file part as it streams.
    file_hashers: tuple[Hasher, ...] = ()

    def get(self, name: str) -> str | None:
        """The first value of text field ``name``, or None."""
        return next((value for key, value in self.fields if key == name), None)

    def get_all(self, name: str) -> list[str]:
        """Every value of text field ``name``, in order."""
        return [value for key, value in self.fields if key == name]

    def files_named(self, name: str) -> list[FilePart]:
        """The file parts sent under field ``name``, in order."""
        return [part for part in self.files if part.name == name]

    def close(self) -> None:
        """Release every file part's spooled body."""
        for part in self.files:
            part.body.close()


@dataclass(frozen=True)
class Limits:
    """Caps enforced while parsing (bytes, counts); ``None`` means no cap. Exceeding one raises
    ``BodyTooLarge`` (sizes) or ``TooManyParts`` before the rest of the body is read."""

    max_file_bytes: int | None = None
    max_total_bytes: int | None = None
    max_parts: int = 1000
    max_field_bytes: int = 1024 * 1024
    max_files: int | None = None
    stop_after_first_file: bool = False
    # When set, only the part of this name (any case) is a file, with or without a filename
    # attribute, and every other part is a text field (S3's POST form rule).
    file_field: str | None = None


class TooManyParts(MalformedBody):
    """More parts (or files) than :class:`Limits` allows."""

    code = "too-many-parts"


class FieldNotUtf8(MalformedBody):
    """A text field (not the file part) whose bytes are not UTF-8."""

    code = "field-not-utf-8"


BeforeFile = Callable[[MultipartForm, str, str, str | None], int | None]


def boundary_of(content_type: str | None) -> bytes:
    """Raises: MalformedBody when the header is not multipart/form-data with a boundary."""
    media, options = parse_options_header(content_type or "")
    if media != b"multipart/form-data":
        raise MalformedBody("expected multipart/form-data")
    boundary = options.get(b"boundary")
    if not boundary:
        raise MalformedBody("multipart/form-data without a boundary")
    return boundary


class _Collector:
    """Turns python-multipart callbacks into a ``MultipartForm``."""

    def __init__(self, limits: Limits, before_file: BeforeFile | None) -> None:
        self.limits = limits
        self.before_file = before_file
        self.form = MultipartForm()
        self.consumed = 0
        self.chunk_start = 0
        self._position = 0
        self.parts = 0
        self.done = False
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._filename: str | None = None
        self._content_type: str | None = None
        self._text: bytearray | None = None
        self._writer: BodyWriter | None = None

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise TooManyParts(f"more than {self.limits.max_parts} multipart parts")
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        # The stream offset of the last header byte: how much form data precedes a file's content.
        self._position = self.chunk_start + end

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise MalformedBody("a multipart part has no form-data name")
        self._name = options[b"name"].decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        self._filename = raw_filename.decode("utf-8", "replace") if raw_filename is not None else None
        part_type = self._headers.get(b"content-type")
        self._content_type = part_type.decode("latin-1").strip() if part_type else None
        file_field = self.limits.file_field
        is_file = self._filename is not None if file_field is None else self._name.lower() == file_field
        if not is_file:
            self._text = bytearray()
            return
        if self.limits.max_files is not None and len(self.form.files) >= self.limits.max_files:
            raise TooManyParts(f"more than {self.limits.max_files} files")
        if not self.form.files:
            self.form.bytes_before_first_file = self._position
        cap = self.limits.max_file_bytes
        if self.before_file is not None:
            hook_cap = self.before_file(self.form, self._name, self._filename or "", self._content_type)
            if hook_cap is not None:
                cap = hook_cap if cap is None else min(cap, hook_cap)
        self._writer = BodyWriter(cap, hashers=self.form.file_hashers)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._writer is not None:
            self._writer.write(chunk)
        elif self._text is not None:
            self._text += chunk
            if len(self._text) > self.limits.max_field_bytes:
                raise BodyTooLarge(self.limits.max_field_bytes, len(self._text))

    def on_part_end(self) -> None:
        if self._writer is not None:
            body = self._writer.finish()
            self._writer = None
            self.form.files.append(FilePart(self._name, self._filename or "", self._content_type, body))
            if self.limits.stop_after_first_file:
                self.done = True
        elif self._text is not None:
            try:
                value = self._text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FieldNotUtf8(f"field {self._name!r} is not valid UTF-8") from exc
            self.form.fields.append((self._name, value))
            self._text = None

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
        self.form.close()


async def parse_multipart(
    stream: AsyncIterator[bytes],
    content_type: str | None,
    limits: Limits = Limits(),
    before_file: BeforeFile | None = None,
) -> MultipartForm:
    """Parse a multipart body from ``stream`` without holding file bytes in memory.

    Raises:
        MalformedBody: not multipart, no boundary, broken framing, too many parts, bad UTF-8.
        BodyTooLarge: a file or the whole body passed its cap (detected while streaming).
        Any exception raised by ``before_file``.
    """
    collector = _Collector(limits, before_file)
    parser = MultipartParser(boundary_of(content_type), collector.callbacks())
    try:
        async for chunk in stream:
            collector.chunk_start = collector.consumed
            collector.consumed += len(chunk)
            if limits.max_total_bytes is not None and collector.consumed > limits.max_total_bytes:
                raise BodyTooLarge(limits.max_total_bytes, collector.consumed)
            if not collector.done:
                parser.write(chunk)
        if not collector.done:
            parser.finalize()
            if collector._writer is not None or collector._text is not None:
                raise MalformedBody("the multipart body ended inside a part")
    except (BodyTooLarge, MalformedBody):
        collector.abort()
        raise
    except Exception as exc:
        collector.abort()
        if type(exc).__module__.startswith("python_multipart"):
            raise MalformedBody(f"malformed multipart body: {exc}") from exc
        raise
    return collector.form
