"""Generated UUIDs are exactly what ``uuid.UUID(..., version=4)`` makes of the same bits; JSON bodies
that cannot hold a lone surrogate skip the surrogate walk, the others still get it; response bodies are
the bytes Starlette's ``JSONResponse`` would write, datetimes given as ``instant`` as ``iso_z`` text."""

from __future__ import annotations

import json
import os
import random
import uuid
import warnings
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.responses import JSONResponse as StarletteJSONResponse

from mock_server.core import ids as ids_module
from mock_server.core import jsontext
from mock_server.core.clock import iso_z
from mock_server.core.ids import Ids


@pytest.mark.parametrize("seed", range(50))
def test_seeded_uuid4_equals_the_uuid_module_on_the_same_bits(seed: int) -> None:
    stream = random.Random(seed)
    ids = Ids(seed)
    for _ in range(20):
        assert ids.uuid4() == str(uuid.UUID(int=stream.getrandbits(128), version=4))


@pytest.mark.parametrize("seeded", [True, False])
@pytest.mark.parametrize("bits", [0, (1 << 128) - 1, 0xC000 << 48, 0xF000 << 64, 0x0F << 72, 0x3F << 56])
def test_uuid4_sets_version_and_variant_whatever_the_bits(
    bits: int, seeded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways (a seeded stream's int, the unseeded pool's bytes) give what the uuid module makes."""
    ids = Ids(7 if seeded else None)
    monkeypatch.setattr(ids, "_bits", lambda count: bits)
    monkeypatch.setattr(ids_module._ENTROPY, "take", lambda size: bits.to_bytes(16, "big"))
    assert ids.uuid4() == str(uuid.UUID(int=bits, version=4))


@pytest.mark.parametrize("bits", [0, (1 << 128) - 1, 0xC000 << 48, 0xF000 << 64, 0x0123456789ABCDEF << 40])
def test_a_batch_of_uuids_sets_version_and_variant_in_every_one(
    bits: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ids_module._ENTROPY, "take", lambda size: bits.to_bytes(16, "big") * (size // 16))
    assert Ids().uuid4s(3) == [str(uuid.UUID(int=bits, version=4))] * 3


def test_a_batch_of_uuids_is_what_as_many_single_draws_give() -> None:
    seeded, again = Ids(11), Ids(11)
    assert seeded.uuid4s(5) == [again.uuid4() for _ in range(5)]
    made = Ids().uuid4s(500)
    assert len(set(made)) == 500 and Ids().uuid4s(0) == []
    assert all(str(uuid.UUID(text, version=4)) == text for text in made)


def test_unseeded_hex_and_uuid4_are_well_formed_and_distinct() -> None:
    ids = Ids()
    made = {ids.uuid4() for _ in range(2000)}
    assert len(made) == 2000 and all(str(uuid.UUID(u)) == u and uuid.UUID(u).version == 4 for u in made)
    for length in (1, 7, 16, 32):
        text = ids.hex(length)
        assert len(text) == length and set(text) <= set("0123456789abcdef")


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


def test_unseeded_ids_are_unique_and_well_formed() -> None:
    ids = Ids()
    drawn = [ids.uuid4() for _ in range(5000)]  # more than one 4 KiB read of the entropy pool
    assert len(set(drawn)) == len(drawn)
    assert all(uuid.UUID(value).version == 4 for value in drawn)
    hexes = {ids.hex(16) for _ in range(2000)}
    assert len(hexes) == 2000 and all(len(value) == 16 for value in hexes)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_worker_does_not_repeat_its_parents_ids() -> None:
    ids = Ids()
    ids.uuid4()  # the parent has read its pool
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns about forking a process that has threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, "\n".join(ids.uuid4() for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split("\n"))
    parent = {ids.uuid4() for _ in range(50)}
    assert len(child) == 50 and not child & parent


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_JSON_WITHOUT_FLOATS = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | _TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_TEXT, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_JSON_WITHOUT_FLOATS)
def test_response_bodies_are_the_bytes_starlette_writes(value: object) -> None:
    """Ints beyond 64 bits included (orjson refuses them; the stdlib writes them)."""
    assert jsontext.JSONResponse(value).body == StarletteJSONResponse(value).body


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_read_back_as_the_same_number(number: float) -> None:
    assert json.loads(jsontext.dumps({"n": number})) == {"n": number}


def test_what_orjson_refuses_goes_through_the_stdlib_and_what_neither_writes_raises() -> None:
    assert jsontext.dumps({1: [2**70]}) == b'{"1":[1180591620717411303424]}'
    with pytest.raises((TypeError, ValueError)):
        jsontext.dumps({"s": "\ud800"})
    with pytest.raises(TypeError):
        jsontext.dumps({"o": object()})


_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=_ZONES), st.booleans())
def test_an_instant_in_a_body_is_written_as_iso_z_text(moment: datetime, with_big_int: bool) -> None:
    """Through orjson, and through the stdlib when something else in the body needs it."""
    body = {"at": jsontext.instant(moment), "n": 2**70 if with_big_int else 1}
    assert json.loads(jsontext.dumps(body))["at"] == iso_z(moment)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_JSON_WITHOUT_FLOATS, max_size=4), max_size=5))
def test_an_array_written_in_chunks_is_the_list_written_at_once(chunks: list[list[object]]) -> None:
    """Empty chunks included, and chunks the stdlib writes (ints past 64 bits)."""
    assert jsontext.array(chunks) == jsontext.dumps([item for chunk in chunks for item in chunk])


# -- parsing: every key as written ------------------------------------------------------------------
# orjson.loads keeps a process-wide cache of object keys (up to 64 bytes) looked up by a 64-bit hash alone:
# two keys with the same hash come back as one, in one body and across requests. Each pair below has one
# hash; json.loads keeps them apart.
_ONE_HASH = [("ZZ5H9dba", "F]z1h3R"), ("0ZfiKtC5", "D0jVcEJ"), ("Bfx7KyiR", "[g4KJ7C")]


@pytest.mark.parametrize(("first", "second"), _ONE_HASH)
def test_keys_come_back_as_written_in_one_body_and_across_bodies(first: str, second: str) -> None:
    both = json.dumps({first: 1, second: 2}).encode()
    assert jsontext.loads(both) == {first: 1, second: 2}
    assert jsontext.loads(json.dumps({second: "later"}).encode()) == {second: "later"}
