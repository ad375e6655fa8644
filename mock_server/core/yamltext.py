"""YAML the user wrote (scenario and fixture files, admin bodies), read with bounds and line numbers.

``yaml.safe_load`` alone accepts documents that cost far more than their size: a 616-byte "billion
laughs" document expands to 10^9 values through aliases, a file of 10,000 ``[`` overflows the
recursive composer, and an alias inside its own anchor builds a cyclic structure that the schema
check recurses into forever. So a cheap pass over the parser's events (iterative, nothing built)
bounds the nesting depth, the number of values after alias expansion and refuses cyclic aliases
before anything is constructed. Problems carry the 1-based line they are on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

# libyaml's parser where PyYAML was built with it: the same documents, several times faster. Text it
# refuses is parsed again by the pure-Python parser, whose messages (and lines) users see.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 100_000


class YamlProblem(ValueError):
    """Text that is not usable YAML: the reason and, when known, the 1-based line."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        self.reason = reason
        self.line = line
        super().__init__(reason)


@dataclass(frozen=True)
class Document:
    """A loaded YAML document: its ``data`` and its node tree (for the line of any path in it)."""

    data: Any
    node: yaml.Node | None

    def line_of(self, path: list[object]) -> int | None:
        """The line of the deepest node on ``path`` (a key that is missing: its parent's line)."""
        node = self.node
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in path:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            elif isinstance(node, yaml.SequenceNode) and str(part).isdigit() and int(part) < len(node.value):
                node = node.value[int(part)]
            else:
                node = None
            if node is None:
                break
            line = node.start_mark.line + 1
        return line


def decode(raw: bytes, max_bytes: int = MAX_BYTES) -> str:
    """UTF-8 text of ``raw``. Raises: YamlProblem for oversized or non-UTF-8 input (with the line)."""
    if len(raw) > max_bytes:
        raise YamlProblem(f"larger than {max_bytes} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8", line
        ) from None


def _bound(text: str, loader: type = yaml.SafeLoader) -> None:
    depth = values = 0
    open_anchors: list[tuple[str | None, int]] = []
    sizes: dict[str, int] = {}
    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            values += 1
            if depth > MAX_DEPTH:
                raise YamlProblem(f"nested deeper than {MAX_DEPTH} levels", line)
            open_anchors.append((event.anchor, values))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            anchor, start = open_anchors.pop()
            if anchor is not None:
                sizes[anchor] = values - start + 1
        elif isinstance(event, yaml.ScalarEvent):
            values += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in open_anchors):
                raise YamlProblem(f"alias *{event.anchor} is inside its own anchor (a cycle)", line)
            values += sizes.get(event.anchor, 1)
        if values > MAX_VALUES:
            raise YamlProblem(f"expands to more than {MAX_VALUES} values (aliases repeating aliases?)", line)


def load(text: str) -> Document:
    """Parse one YAML (or JSON) document within the bounds above.

    Raises: YamlProblem with the reason and line (syntax errors, bounds, several documents).
    """
    if FAST_LOADER is not yaml.SafeLoader:
        try:
            return _load(text, FAST_LOADER)
        except (yaml.YAMLError, YamlProblem, RecursionError):
            pass  # the pure-Python parser below gives the reason and line
    return _load(text, yaml.SafeLoader)


def _load(text: str, loader_class: type) -> Document:
    try:
        _bound(text, loader_class)
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid"
        raise YamlProblem(f"not valid YAML: {reason}", mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise YamlProblem(f"not valid YAML: character #x{exc.character:04x} is not allowed", line) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {exc}") from None
    except RecursionError:  # the bounds above should make this unreachable; never a 500 all the same
        raise YamlProblem(f"nested deeper than {MAX_DEPTH} levels") from None
    return Document(data, node)
