"""Generated UUIDs are exactly what ``uuid.UUID(..., version=4)`` makes of the same bits; JSON bodies
that cannot hold a lone surrogate skip the surrogate walk, the others still get it."""

from __future__ import annotations

import random
import uuid

import pytest

from mock_server.core import jsontext
from mock_server.core.ids import Ids


@pytest.mark.parametrize("seed", range(50))
def test_seeded_uuid4_equals_the_uuid_module_on_the_same_bits(seed: int) -> None:
    stream = random.Random(seed)
    ids = Ids(seed)
    for _ in range(20):
        assert ids.uuid4() == str(uuid.UUID(int=stream.getrandbits(128), version=4))


@pytest.mark.parametrize("bits", [0, (1 << 128) - 1, 0xC000 << 48, 0xF000 << 64])
def test_uuid4_sets_version_and_variant_whatever_the_bits(bits: int, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = Ids()
    monkeypatch.setattr(ids, "_bits", lambda count: bits)
    assert ids.uuid4() == str(uuid.UUID(int=bits, version=4))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\\ud800"}',
        '"\\uDFFF"',
        '"\ud800"',
        '"\ud800"'.encode("utf-8", "surrogatepass"),
        '["\ud800"]'.encode("utf-16-le", "surrogatepass"),
        '["\ud800"]'.encode("utf-32", "surrogatepass"),
    ],
)
def test_lone_surrogates_are_refused_however_written(raw: bytes | str) -> None:
    with pytest.raises(ValueError, match="surrogate"):
        jsontext.loads(raw)


@pytest.mark.parametrize(
    "raw", [b'{"a": "plain"}', '{"a": "\\ud83d\\ude00 \\n"}', '{"a": "é"}'.encode(), '"x"'.encode("utf-16")]
)
def test_text_without_lone_surrogates_parses(raw: bytes | str) -> None:
    assert jsontext.loads(raw) is not None
