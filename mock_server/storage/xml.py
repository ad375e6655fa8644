"""S3's XML bodies, built with ElementTree so they are well-formed whatever a key or value holds.

XML 1.0 cannot carry most C0 control characters (not even as character references) nor lone
surrogates, yet S3 keys and header values may contain them. Such characters are replaced with
U+FFFD so the body still parses; every other character is escaped by ElementTree itself.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """``value`` as text XML 1.0 can hold: characters it forbids become U+FFFD."""
    return _NOT_XML.sub("\ufffd", str(value))


def document(root: str, children: Iterable[tuple[str, object]], namespace: str | None = None) -> bytes:
    """``<?xml ...?>\\n<root>`` with one element per ``(tag, text)`` pair, in order, UTF-8 encoded."""
    element = ET.Element(root, {"xmlns": namespace} if namespace else {})
    for tag, text in children:
        ET.SubElement(element, tag).text = xml_text(text)
    return DECLARATION + ET.tostring(element, encoding="utf-8", xml_declaration=False)
