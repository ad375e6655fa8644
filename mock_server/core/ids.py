"""Identifiers, tokens and request ids from one RNG, seedable for reproducible runs."""

from __future__ import annotations

import os
import random
import secrets
import string
import threading
from collections.abc import Callable


class _Entropy:
    """``os.urandom`` read 4 KiB at a time and handed out in slices: the same bytes, one system call
    per hundred ids instead of one each (under load a system call per id was a tenth of a request's
    CPU, bench/PROFILE.md). A forked worker drops what its parent read, so two workers never hand out
    the same bytes."""

    SIZE = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0

    def forget(self) -> None:
        self._pool, self._at = b"", 0

    def take(self, size: int) -> bytes:
        """The next ``size`` random bytes."""
        with self._lock:
            if self._at + size > len(self._pool):
                self._pool, self._at = os.urandom(max(self.SIZE, size)), 0
            chunk = self._pool[self._at : self._at + size]
            self._at += size
        return chunk

    def bits(self, count: int) -> int:
        """``count`` random bits as a non-negative int."""
        size = (count + 7) // 8
        return int.from_bytes(self.take(size), "big") >> (size * 8 - count)

    def uuid4(self) -> str:
        """A random (version 4) UUID as text: 16 bytes with RFC 4122's version and variant bits set,
        in hex (a third of the cost of formatting a 128-bit int)."""
        raw = bytearray(self.take(16))
        raw[6] = raw[6] & 0x0F | 0x40
        raw[8] = raw[8] & 0x3F | 0x80
        text = raw.hex()
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def uuid4s(self, count: int) -> list[str]:
        """``count`` of ``uuid4``'s texts from one slice of the pool, the bits set in two slice
        assignments: 20 ids in 10 us instead of 18."""
        raw = bytearray(self.take(16 * count))
        raw[6::16] = bytes(byte & 0x0F | 0x40 for byte in raw[6::16])
        raw[8::16] = bytes(byte & 0x3F | 0x80 for byte in raw[8::16])
        text = raw.hex()
        return [
            f"{text[at : at + 8]}-{text[at + 8 : at + 12]}-{text[at + 12 : at + 16]}-"
            f"{text[at + 16 : at + 20]}-{text[at + 20 : at + 32]}"
            for at in range(0, 32 * count, 32)
        ]


_ENTROPY = _Entropy()
os.register_at_fork(after_in_child=_ENTROPY.forget)


class Ids:
    """Generates ids; with a seed the sequence is reproducible, without one it is cryptographic."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._rng: random.Random | None = random.Random(seed) if seed is not None else None

    def reset(self) -> None:
        """Restart the seeded stream, so a reset sandbox issues the same ids again (no-op unseeded)."""
        with self._lock:
            self._rng = random.Random(self._seed) if self._seed is not None else None

    def _bits(self, count: int) -> int:
        with self._lock:
            if self._rng is not None:
                return self._rng.getrandbits(count)
        return _ENTROPY.bits(count)

    def uuid4(self) -> str:
        """A random (version 4) UUID as text, from the seeded stream when there is a seed."""
        if self._rng is None:
            return _ENTROPY.uuid4()
        # What str(uuid.UUID(int=bits, version=4)) gives, without building the object: the version
        # nibble set to 4 and the variant bits to RFC 4122's 10.
        bits = self._bits(128) & ~(0xC000 << 48) | (0x8000 << 48)
        text = f"{bits & ~(0xF000 << 64) | (4 << 76):032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def uuid4s(self, count: int) -> list[str]:
        """``count`` UUIDs: what ``count`` calls of ``uuid4`` give (seeded: the same sequence)."""
        if self._rng is None and type(self)._bits is Ids._bits:
            return _ENTROPY.uuid4s(count)
        return [self.uuid4() for _ in range(count)]

    def hex(self, length: int = 16) -> str:
        """``length`` lowercase hex digits."""
        if self._rng is None and type(self)._bits is Ids._bits:  # unseeded: random bytes as they come
            return _ENTROPY.take((length + 1) // 2).hex()[:length]
        return format(self._bits(length * 4), f"0{length}x")

    def token(self, length: int = 32) -> str:
        """``length`` characters of ``[A-Za-z0-9]`` (``secrets`` when unseeded)."""
        alphabet = string.ascii_letters + string.digits
        with self._lock:
            if self._rng is not None:
                return "".join(self._rng.choice(alphabet) for _ in range(length))
        return "".join(secrets.choice(alphabet) for _ in range(length))

    def request_id(self) -> str:
        """A request id for responses and the journal: 16 hex digits."""
        return self.hex(16)


class SharedIds(Ids):
    """``Ids`` for several processes over one sandbox (``--state-url``): with a seed, draw number ``n``
    comes from ``random.Random("<seed>:<n>")`` with ``n`` counted in Redis, so the workers together
    issue one reproducible sequence (not the one-process sequence); without a seed, as ``Ids``."""

    def __init__(self, seed: int | None, next_draw: Callable[[], int]) -> None:
        super().__init__(seed)
        self._next_draw = next_draw

    def reset(self) -> None:
        """The draw counter lives in the shared namespace, emptied by the reset itself."""

    def _draw(self) -> random.Random | None:
        return None if self._seed is None else random.Random(f"{self._seed}:{self._next_draw()}")

    def _bits(self, count: int) -> int:
        rng = self._draw()
        return _ENTROPY.bits(count) if rng is None else rng.getrandbits(count)

    def token(self, length: int = 32) -> str:
        """``length`` characters of ``[A-Za-z0-9]`` (one draw of the shared sequence when seeded)."""
        alphabet = string.ascii_letters + string.digits
        rng = self._draw()
        if rng is None:
            return "".join(secrets.choice(alphabet) for _ in range(length))
        return "".join(rng.choice(alphabet) for _ in range(length))
