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


# -- parsing: orjson where it reads exactly as json.loads does, json.loads everywhere else ---------------
def _stdlib_loads(raw: bytes) -> object:
    """What ``jsontext.loads`` gave before orjson read bodies: the reference."""
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    if jsontext._may_hold_surrogate(raw) and jsontext._has_unpaired_surrogate(value):
        raise ValueError("JSON text contains an unpaired UTF-16 surrogate")
    return value


def _outcome(parse: object, raw: bytes) -> tuple[str, object]:
    try:
        value = parse(raw)  # type: ignore[operator]
    except ValueError:
        return ("refused", None)
    # repr tells 1 from 1.0 and -0.0 from 0.0, which == does not
    return ("parsed", repr(value))


_ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**90), max_value=2**90)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=40,
)
# Bytes near JSON: pieces of JSON text, escapes, digits and bytes that are not UTF-8, in any order.
_NEAR_JSON = st.lists(
    st.sampled_from(
        b'{|}|[|]|,|:|"|\\|u|d800|dc00|0|1|9999999999999999999|-|.|e|E|+| |\t|\n|\x00|\x1f|true|null|NaN'
        b'|Infinity|\xef\xbb\xbf|\xed\xa0\x80|\xff|\xc3\xa9|"a"|1e400|1e-400'.split(b"|")
    ),
    max_size=30,
).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        _ANY_JSON.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
        _ANY_JSON.map(lambda v: json.dumps(v).encode()),
        _NEAR_JSON,
        st.binary(max_size=40),
    )
)
def test_a_body_parses_to_what_json_loads_gives_or_is_refused_as_it_was(raw: bytes) -> None:
    assert _outcome(jsontext.loads, raw) == _outcome(_stdlib_loads, raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"[18446744073709551616, -9223372036854775809]",  # past 64 bits: orjson would give floats
        b'{"size": 123456789012345678901234567890}',
        b"[" * 300 + b"]" * 300,  # deep, but within what json.loads reads
        b"[" * 5000 + b"]" * 5000,  # past the recursion limit: refused as before
        b'{"a": NaN, "b": -Infinity}',
        b'\xef\xbb\xbf{"bom": true}',
        '{"utf16": true}'.encode("utf-16"),
        b'{"a": 1, "a": 2}',
        b"[-0, -0.0, 1.0, 1e400, 2.5e-324]",
    ],
)
def test_bodies_orjson_would_read_differently_are_read_by_json_loads(raw: bytes) -> None:
    assert _outcome(jsontext.loads, raw) == _outcome(_stdlib_loads, raw)


def test_a_plain_body_is_read_by_orjson_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(raw: object) -> object:
        raise AssertionError("json.loads was called")

    monkeypatch.setattr(jsontext.json, "loads", refuse)
    raw = json.dumps({"items": [{"fileName": "a.pdf", "sizeBytes": 20480}] * 20}).encode()
    assert jsontext.loads(raw) == json.JSONDecoder().decode(raw.decode())
