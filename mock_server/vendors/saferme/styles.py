"""The "initial processing" of a file attachment: derived ``thumb`` and ``medium`` images.

An attachment is processing (202) until ``processing_seconds`` of sandbox time have passed since it
was created; the first request that sees it after that makes the styles and marks it processed
(200). Image uploads (PNG, JPEG, GIF) get real JPEG renditions stored next to the upload; other
types, and images Pillow cannot decode, are processed with no styles (``style_url`` stays ``{}``).
Style keys are deterministic, so two requests racing to process the same attachment write the same
objects and the first to finish wins.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mock_server.core.bodies import BodyWriter, SpooledBody
from mock_server.core.sandbox import ResetDuringRequest
from mock_server.vendors.saferme.models import (
    BUCKET,
    IMAGE_CONTENT_TYPES,
    VENDOR,
    FileAttachment,
    due,
    mark_processed,
)

if TYPE_CHECKING:
    from PIL import Image

    from mock_server.core.sandbox import Sandbox


@dataclass(frozen=True)
class Style:
    name: str
    size: tuple[int, int]
    crop: bool  # True: fill the box and crop the centre (Paperclip "#"); False: fit inside (">")


STYLES = (Style("thumb", (100, 100), crop=True), Style("medium", (640, 640), crop=False))


def style_key(attachment: FileAttachment, style: Style, original_sha256: str) -> str:
    digest = hashlib.sha1(f"{attachment.id}:{style.name}:{original_sha256}".encode(), usedforsecurity=False)
    return f"file_attachments/{attachment.id}/{style.name}-{digest.hexdigest()}.jpg"


def _flatten(image: Image.Image) -> Image.Image:
    from PIL import Image, ImageOps

    frame = ImageOps.exif_transpose(image) or image
    if frame.mode in ("P", "PA", "LA", "RGBA") or "transparency" in frame.info:
        rgba = frame.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return frame.convert("RGB")


def _render(image: Image.Image, style: Style) -> bytes:
    from PIL import Image, ImageOps

    if style.crop:
        out = ImageOps.fit(image, style.size, Image.Resampling.LANCZOS)
    else:
        out = image.copy()
        out.thumbnail(style.size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    out.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _renditions(original: SpooledBody) -> dict[Style, bytes]:
    """JPEG bytes per style, or {} when the upload is not a decodable image (or a decompression bomb)."""
    from PIL import Image  # Pillow is loaded with the first image upload, not at start-up

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(original.file) as image:
                flat = _flatten(image)
                return {style: _render(flat, style) for style in STYLES}
        except (
            OSError,
            ValueError,
            SyntaxError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ):
            return {}


def derive_styles(sandbox: Sandbox, attachment: FileAttachment) -> dict[str, str]:
    """Make and store the styles of ``attachment``; style name -> object key ({} when none apply)."""
    objects = sandbox.storage.objects
    info = objects.head(BUCKET, attachment.key)
    if attachment.content_type not in IMAGE_CONTENT_TYPES or info is None:
        return {}
    writer = BodyWriter()
    _, chunks = objects.open(BUCKET, attachment.key)
    for chunk in chunks:
        writer.write(chunk)
    original = writer.finish()
    try:
        renditions = _renditions(original)
    finally:
        original.close()
    keys: dict[str, str] = {}
    for style, data in renditions.items():
        key = style_key(attachment, style, info.sha256)
        body = BodyWriter()
        body.write(data)
        objects.put(BUCKET, key, body.finish(), content_type="image/jpeg", uploaded_at=sandbox.clock.now())
        keys[style.name] = key
    return keys


def process_if_due(sandbox: Sandbox, attachment: FileAttachment) -> FileAttachment:
    """The attachment as it is now: processed (with styles) once its processing time has passed.

    Blocking (Pillow): call it from a worker thread.

    Raises: ResetDuringRequest when the attachment's record vanished (a reset) while the styles were
    made; the styles written are removed, and the record is not put back.
    """
    if not due(sandbox, attachment):
        return attachment
    styles = derive_styles(sandbox, attachment)
    with sandbox.store.transaction():
        current = sandbox.store.get(VENDOR, str(attachment.team_id), "file_attachment", str(attachment.id))
        if current is None:  # reset (or deleted) while the styles were made: keep nothing of it
            for key in styles.values():
                sandbox.storage.objects.delete(BUCKET, key)
            raise ResetDuringRequest()
        if isinstance(current, FileAttachment) and current.processed:
            return current
        return mark_processed(sandbox, attachment, styles)
