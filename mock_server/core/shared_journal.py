"""The request journal kept in Redis, for several worker processes over one sandbox (core/shared.py).

Same interface and bounds as :class:`~mock_server.core.journal.Journal`; every process records into and
reads from the same two rings, so ``GET /__admin/requests`` answers the same whichever process gets it.

Layout (keys under ``<namespace>:journal:``):

- ``seq``: the last id given (``INCR``, so ids are unique and increasing across processes);
- ``ring:vendor`` / ``ring:admin``: lists of ``<id>:<token>``, newest first, trimmed to their sizes;
- ``entries``: hash id -> the pickled entry without its bodies (its summary, headers, body sizes);
- ``bodies``: hash id -> the pickled (request bytes, response bytes), kept apart so a listing reads no
  body and the total budget can take bodies back without rewriting entries; ``sizes`` (id -> captured
  bytes), ``bodied`` (ids with bodies, oldest first) and ``total`` keep that budget.

Cost: ``record`` is one round trip (a Lua script that gives the id, stores, trims and evicts bodies
atomically), sent with whatever the request still has queued (``SharedState.writes``). Reads are one
or two round trips; each process keeps the entries it has already unpickled (keyed by ``<id>:<token>``,
the token making a key that survives a reset from another process impossible to mistake).
"""

from __future__ import annotations

import itertools
import operator
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mock_server.core.journal import (
    ADMIN_SIZE,
    BODY_LIMIT,
    TOTAL_BODY_LIMIT,
    Journal,
    JournalEntry,
    _predicates,
)
from mock_server.core.shared import SharedState, dumps, loads

if TYPE_CHECKING:
    pass

# KEYS: seq, ring, entries, bodies, sizes, bodied, total
# ARGV: token, entry blob, bodies blob, captured body bytes, ring size, total body limit
RECORD = """
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[3], id, ARGV[2])
redis.call('LPUSH', KEYS[2], id .. ':' .. ARGV[1])
local size = tonumber(ARGV[5])
local function forget_bodies(old)
  local n = redis.call('HGET', KEYS[5], old)
  if n then
    redis.call('HDEL', KEYS[4], old)
    redis.call('HDEL', KEYS[5], old)
    return redis.call('DECRBY', KEYS[7], n)
  end
  return nil
end
while redis.call('LLEN', KEYS[2]) > size do
  local old = string.match(redis.call('RPOP', KEYS[2]), '^(%d+)')
  redis.call('HDEL', KEYS[3], old)
  if forget_bodies(old) then
    redis.call('LREM', KEYS[6], 1, old)
  end
end
local n = tonumber(ARGV[4])
if n > 0 then
  redis.call('HSET', KEYS[4], id, ARGV[3])
  redis.call('HSET', KEYS[5], id, n)
  redis.call('RPUSH', KEYS[6], id)
  local total = redis.call('INCRBY', KEYS[7], n)
  local limit = tonumber(ARGV[6])
  while total > limit do
    local old = redis.call('LPOP', KEYS[6])
    if not old then break end
    total = forget_bodies(old) or total
  end
end
return id
"""

# KEYS: ring. ARGV: the newest element the caller knows ('' for none). Returns {length, found (1/0),
# the elements newer than it}: all of them when it is no longer there (trimmed away, or a reset).
NEWER = """
local n = redis.call('LLEN', KEYS[1])
local newer = {n, 0}
local start = 0
while start < n do
  for _, element in ipairs(redis.call('LRANGE', KEYS[1], start, start + 99)) do
    if element == ARGV[1] then
      newer[2] = 1
      return newer
    end
    newer[#newer + 1] = element
  end
  start = start + 100
end
return newer
"""

_FIELDS = tuple(name for name in JournalEntry.__slots__ if name not in ("id", "_dict", "_text"))
_COPIED = ("id", *_FIELDS)
_FIELD_VALUES = operator.attrgetter(*_FIELDS)
_BODY_POSITIONS = (_FIELDS.index("request_body"), _FIELDS.index("response_body"))


class SharedJournalEntry(JournalEntry):
    """An entry read from Redis: its bodies are fetched on first use, for its whole page at once."""

    __slots__ = ("_page",)

    def _load_bodies(self) -> None:
        page = self._page
        if page is not None:
            page.load()

    def as_dict(self) -> dict[str, Any]:
        """``JournalEntry.as_dict``, with the bodies read first."""
        self._load_bodies()
        return super().as_dict()

    def body_bytes(self) -> int:
        """Captured body bytes kept (0 once the budget took them back)."""
        self._load_bodies()
        return super().body_bytes()

    def bodies(self) -> tuple[tuple[bytes, int] | None, tuple[bytes, int] | None]:
        """(request body, response body), read from Redis if not yet read."""
        self._load_bodies()
        return self.request_body, self.response_body


class _Page:
    """Entries handed out together; the first that needs its bodies reads them all (one HMGET)."""

    def __init__(self, journal: SharedJournal, entries: list[SharedJournalEntry]) -> None:
        self.journal = journal
        self.entries = entries
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            waiting = [entry for entry in self.entries if entry._page is self]
            if not waiting:
                return
            wanting = [entry for entry in waiting if _has_bodies(entry)]
            found = self.journal._read_bodies([entry.id for entry in wanting]) if wanting else []
            for entry, blob in zip(wanting, found, strict=True):
                if blob is not None:
                    entry.request_body, entry.response_body = loads(blob)
            for entry in waiting:
                entry._page = None


def _has_bodies(entry: JournalEntry) -> bool:
    return any(body is not None and body[1] for body in (entry.request_body, entry.response_body))


def _placeholder(body: tuple[bytes, int] | None) -> tuple[bytes, int] | None:
    return None if body is None else (b"", body[1])


class SharedJournal(Journal):
    """``Journal`` over ``shared`` (one sandbox's namespace): the same bounds, rings in Redis."""

    def __init__(
        self,
        shared: SharedState,
        size: int = 1000,
        *,
        admin_size: int = ADMIN_SIZE,
        body_limit: int = BODY_LIMIT,
        total_body_limit: int = TOTAL_BODY_LIMIT,
    ) -> None:
        super().__init__(0, admin_size=0, body_limit=body_limit, total_body_limit=total_body_limit)
        self.shared = shared
        self.sizes = {"vendor": max(size, 1), "admin": max(admin_size, 1)}
        key = shared.key
        self._keys = {
            name: key("journal", name) for name in ("seq", "entries", "bodies", "sizes", "bodied", "total")
        }
        self._ring_keys = {name: key("journal", "ring", name) for name in self.sizes}
        self._record_script = shared.script(RECORD)
        # Entries this process has unpickled, by ring element, the oldest learnt forgotten first.
        # Entries this process wrote are kept as (id, row) until first read: most never are.
        self._seen: OrderedDict[bytes, SharedJournalEntry | tuple[int, tuple[Any, ...]]] = OrderedDict()
        self._seen_cap = 2 * sum(self.sizes.values()) + 64
        self._seen_lock = threading.Lock()
        self._known: dict[str, list[bytes]] = {name: [] for name in self.sizes}  # each ring, as last read
        self._newer = shared.redis.register_script(NEWER)
        self._token_prefix = os.urandom(4).hex()
        self._tokens = itertools.count()

    # -- writing ------------------------------------------------------------------------------------
    def record(self, **fields: Any) -> JournalEntry:
        """Store one complete entry (fields as ``JournalEntry`` takes them) in one round trip, together
        with the request's still-queued writes; returns it with its id."""
        entry, commands, token, row = self._prepare(fields)
        entry.id = int(self.shared.send(commands)[-1])
        self._remember(f"{entry.id}:{token}".encode(), entry.id, row)
        return entry

    async def record_async(self, **fields: Any) -> JournalEntry:
        """``record`` without holding up the event loop: the round trip carrying the entry and the
        request's queued writes may carry other requests' too (core/shared_commit.py)."""
        entry, commands, token, row = self._prepare(fields)
        entry.id = int((await self.shared.commit(commands))[-1])
        self._remember(f"{entry.id}:{token}".encode(), entry.id, row)
        return entry

    def _prepare(self, fields: dict[str, Any]) -> tuple[SharedJournalEntry, list[Any], str, Any]:
        """The entry, the commands that store it (the request's still-queued writes, taken off its
        queue, then the RECORD script, whose answer is the entry's id), its token and its row."""
        entry = SharedJournalEntry(0, **fields)
        entry._page = None
        captured = entry.body_bytes()
        bodies = dumps((entry.request_body, entry.response_body)) if captured else b""
        row = _row(entry)
        ring = "admin" if entry.vendor == "admin" else "vendor"
        token = f"{self._token_prefix}{next(self._tokens):x}"
        keys = [self._keys["seq"], self._ring_keys[ring], *(self._keys[k] for k in _BODY_KEYS)]
        args = [token, dumps(row), bodies, captured, self.sizes[ring], self.total_body_limit]
        writes = self.shared.pending()
        queued: list[Any] = []
        if writes is not None:
            queued, writes.commands, writes.overlay = writes.commands, [], {}
        return entry, [*queued, self._record_script.args(keys, args)], token, row

    def _remember(self, element: bytes, entry_id: int, row: tuple[Any, ...]) -> None:
        known = (entry_id, row)
        with self._seen_lock:
            seen = self._seen
            seen[element] = known
            while len(seen) > self._seen_cap:
                seen.popitem(last=False)

    # -- reading ------------------------------------------------------------------------------------
    def _ring(self, admin: bool) -> list[SharedJournalEntry]:
        """The ring's entries, newest first, without bodies (read when first needed)."""
        elements = self._elements("admin" if admin else "vendor")
        seen = self._seen
        missing = [element for element in elements if element not in seen]
        if missing:
            ids = [int(element.split(b":", 1)[0]) for element in missing]
            blobs = self.shared.redis.hmget(self._keys["entries"], ids)
            for element, entry_id, blob in zip(missing, ids, blobs, strict=True):
                if blob is not None:
                    self._remember(element, entry_id, loads(blob))
        found = []
        for element in elements:
            known = seen.get(element)
            if known is None:
                continue
            if isinstance(known, tuple):  # written here, not read before: made an entry once
                known = _entry(*known)
                with self._seen_lock:
                    if element in seen:
                        seen[element] = known
            found.append(known)
        return found

    def _read_bodies(self, ids: list[int]) -> list[bytes | None]:
        return self.shared.redis.hmget(self._keys["bodies"], ids)

    def _elements(self, ring: str) -> list[bytes]:
        """The ring's elements, newest first: only those newer than the last read cross the wire."""
        known = self._known[ring]
        length, found, *newer = self._newer(keys=[self._ring_keys[ring]], args=[known[0] if known else b""])
        elements = newer + known[: max(int(length) - len(newer), 0)] if found else newer
        self._known[ring] = elements
        return elements

    def _paged(self, found: list[SharedJournalEntry]) -> list[SharedJournalEntry]:
        """Copies of the known entries ``found``, which read their bodies together when first needed."""
        entries = [_copy(known) for known in found]
        page = _Page(self, entries)
        for entry in entries:
            entry._page = page
        return entries

    def _snapshot(self, admin: bool) -> list[JournalEntry]:
        return list(reversed(self._ring(admin)))  # oldest first, as Journal's filters expect

    def entries(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        admin: bool | None = None,
        correlation_id: str | None = None,
        **filters: Any,
    ) -> list[JournalEntry]:
        """As ``Journal.entries``; the bodies of the entries answered are read on first use."""
        found = super().entries(
            limit=limit, offset=offset, admin=admin, correlation_id=correlation_id, **filters
        )
        return self._paged(found)  # type: ignore[arg-type,return-value]

    def get(self, entry_id: int) -> JournalEntry | None:
        """The entry ``entry_id`` with its bodies (one round trip), or None when pushed out."""
        pipe = self.shared.redis.pipeline(transaction=False)
        pipe.hget(self._keys["entries"], entry_id)
        pipe.hget(self._keys["bodies"], entry_id)
        blob, bodies = pipe.execute()
        if blob is None:
            return None
        entry = _entry(entry_id, loads(blob))
        if bodies is not None:
            entry.request_body, entry.response_body = loads(bodies)
        return entry

    @property
    def last_id(self) -> int:
        """The id most recently given by any process (0 after a reset)."""
        return int(self.shared.redis.get(self._keys["seq"]) or 0)

    @property
    def body_total(self) -> int:
        """Captured body bytes kept across both rings, at most ``total_body_limit``."""
        return int(self.shared.redis.get(self._keys["total"]) or 0)

    def __len__(self) -> int:
        return int(self.shared.redis.llen(self._ring_keys["vendor"]))

    def reset(self) -> None:
        """Empty both rings and the body budget; ids start again at 1."""
        self.shared.redis.delete(*self._keys.values(), *self._ring_keys.values())
        self._seen.clear()
        self._known = {name: [] for name in self.sizes}

    def count(self, *, admin: bool | None = None, **filters: Any) -> int:
        """How many entries match (as ``Journal.count``); FilterError when a filter is bad."""
        tests = _predicates(filters)
        use_admin = admin if admin is not None else filters.get("vendor") == "admin"
        return sum(1 for entry in self._ring(use_admin) if all(test(entry) for test in tests))


_BODY_KEYS = ("entries", "bodies", "sizes", "bodied", "total")


def _row(entry: JournalEntry) -> tuple[Any, ...]:
    """The entry's fields (bodies as their sizes only) in ``_FIELDS`` order, for pickling."""
    values = list(_FIELD_VALUES(entry))
    for position in _BODY_POSITIONS:
        values[position] = _placeholder(values[position])
    return tuple(values)


def _copy(known: SharedJournalEntry) -> SharedJournalEntry:
    entry = SharedJournalEntry.__new__(SharedJournalEntry)
    for name in _COPIED:
        setattr(entry, name, getattr(known, name))
    entry._dict = entry._text = None
    entry._page = None
    return entry


def _entry(entry_id: int, row: Iterable[Any]) -> SharedJournalEntry:
    entry = SharedJournalEntry.__new__(SharedJournalEntry)
    entry.id = entry_id
    for name, value in zip(_FIELDS, row, strict=True):
        setattr(entry, name, value)
    entry._dict = entry._text = None
    entry._page = None
    return entry
