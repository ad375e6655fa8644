"""What happens to an uploaded file before it is stored: its name, its type, its thumbnail.

- File names are reduced to their last path segment, without NUL or control characters, at most
  255 UTF-8 bytes (extension kept); ``.``/``..`` become empty. Object keys use ``file`` for an empty name.
- The stored content type is the part's ``Content-Type`` as sent; when it is missing or
  ``application/octet-stream`` it is guessed from the file name (Python's built-in table, not the host's).
- ``names`` / ``external_ids`` hold one value per file, by position: a JSON array (the trimmed value
  starts with ``[``) or a comma-separated list (items trimmed); empty items mean "use the default".
- Images (``image/*`` that Pillow can decode, at most 64 megapixels) get a thumbnail that fits in
  256x256: JPEG for JPEG sources, PNG otherwise; EXIF orientation applied; animations use the first frame.
"""

from __future__ import annotations

import io
import json
import mimetypes
import re
import warnings
from dataclasses import dataclass
from typing import IO

from mock_server.core.bodies import BodyWriter, SpooledBody
from mock_server.core.multipart import FilePart
from mock_server.vendors.decoda.errors import RequestValidationError

THUMBNAIL_MAX_PX = 256
CHUNK = 64 * 1024
MAX_IMAGE_PIXELS = 64_000_000
MAX_FILENAME_BYTES = 255
DEFAULT_CONTENT_TYPE = "application/octet-stream"
PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Built-in extension table only, so guesses do not depend on the host's /etc/mime.types.
_MIME_TYPES = mimetypes.MimeTypes(filenames=())


@dataclass(frozen=True)
class Thumbnail:
    body: SpooledBody
    content_type: str
    extension: str


def safe_filename(raw: str) -> str:
    """The last path segment of ``raw``, printable, at most 255 UTF-8 bytes; ``""`` if nothing is left."""
    name = _CONTROL.sub("", re.split(r"[\\/]", raw)[-1]).strip()
    if name in {".", ".."}:
        return ""
    encoded = name.encode("utf-8")
    if len(encoded) <= MAX_FILENAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    suffix = f".{extension}" if dot and stem and len(extension) <= 16 else ""
    room = MAX_FILENAME_BYTES - len(suffix.encode("utf-8"))
    head = (name[: -len(suffix)] if suffix else name).encode("utf-8")[:room].decode("utf-8", "ignore")
    return head + suffix


def spool(file: IO[bytes], limit: int) -> SpooledBody:
    """Copy an uploaded file into a ``SpooledBody`` (what the object store takes).

    Raises: BodyTooLarge past ``limit`` bytes.
    """
    file.seek(0)
    writer = BodyWriter(limit)
    while chunk := file.read(CHUNK):
        writer.write(chunk)
    return writer.finish()


def key_segment(filename: str) -> str:
    return filename or "file"


def content_type_of(part: FilePart, filename: str) -> str:
    declared = (part.content_type or "").strip()
    if declared and declared.split(";", 1)[0].strip().lower() != DEFAULT_CONTENT_TYPE:
        return declared
    guessed, _ = _MIME_TYPES.guess_type(filename, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


def aligned(value: str | None, field: str, count: int) -> list[str | None]:
    """``count`` values for ``field`` (``names``/``external_ids``), ``None`` where none was given.

    Raises: RequestValidationError (FastAPI's 422 list, a ``value_error`` at ``["body", field]``) for a
    malformed JSON array or more values than files.
    """
    text = (value or "").strip()
    if not text:
        return [None] * count
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(
            item is None or (isinstance(item, str | int) and not isinstance(item, bool)) for item in items
        ):
            raise _invalid(
                field, value, "must be a JSON array of strings or a comma-separated list of values"
            )
        values = [None if item is None else str(item).strip() for item in items]
    else:
        values = [item.strip() for item in text.split(",")]
    if len(values) > count:
        raise _invalid(
            field,
            value,
            f"has {len(values)} values but {count} attachment(s) were uploaded; "
            "values are matched to attachments by position",
        )
    return [item or None for item in values] + [None] * (count - len(values))


def _invalid(field: str, value: str | None, problem: str) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "value_error",
                "loc": ["body", field],
                "msg": f"Value error, {field} {problem}",
                "input": value,
                "ctx": {"error": {}},
            }
        ]
    )


def make_thumbnail(body: SpooledBody, content_type: str) -> Thumbnail | None:
    """A downscaled copy of an image upload, or ``None`` when it is not a decodable image."""
    if not content_type.lower().startswith("image/"):
        return None
    from PIL import Image  # Pillow is loaded with the first image, not at start-up

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _thumbnail(body)
    except Exception:  # a thumbnail is best effort: corrupt or exotic images get none, the upload stands
        return None
    finally:
        body.file.seek(0)


def _thumbnail(body: SpooledBody) -> Thumbnail | None:
    from PIL import Image, ImageOps

    body.file.seek(0)
    with Image.open(body.file) as image:
        if image.width * image.height > MAX_IMAGE_PIXELS:
            return None
        source_format = image.format
        if source_format == "JPEG":
            image.draft("RGB", (THUMBNAIL_MAX_PX * 2, THUMBNAIL_MAX_PX * 2))
        thumb = ImageOps.exif_transpose(image)
        thumb.thumbnail((THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX))
        output = io.BytesIO()
        if source_format == "JPEG":
            thumb = thumb if thumb.mode in {"RGB", "L"} else thumb.convert("RGB")
            thumb.save(output, format="JPEG", quality=85)
            content_type, extension = "image/jpeg", "jpg"
        else:
            thumb = thumb if thumb.mode in PNG_MODES else thumb.convert("RGBA")
            thumb.save(output, format="PNG", optimize=True)
            content_type, extension = "image/png", "png"
    writer = BodyWriter()
    writer.write(output.getvalue())
    return Thumbnail(writer.finish(), content_type, extension)
