"""Many clients at once: nothing lost, nothing mixed up, one winner for single-use URLs."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import requests

from mock_server.testing.server import LiveServer

BUCKET = "sandbox-uploads"


def test_hundred_concurrent_uploads_lose_nothing(live: LiveServer) -> None:
    payloads = {f"concurrent/{number:03d}.bin": os.urandom(32 * 1024 + number) for number in range(100)}
    urls = {
        key: live.sandbox.storage.presign_put(live.url, BUCKET, key, expires_in=300).url for key in payloads
    }

    def upload(key: str) -> int:
        with requests.Session() as session:
            return session.put(urls[key], data=payloads[key], timeout=60).status_code

    with ThreadPoolExecutor(max_workers=100) as pool:
        statuses = list(pool.map(upload, payloads))
    assert statuses == [200] * 100
    stored = {info.key: info.sha256 for info in live.sandbox.storage.objects.list(BUCKET, "concurrent/")}
    assert stored == {key: hashlib.sha256(data).hexdigest() for key, data in payloads.items()}


def test_single_use_url_has_exactly_one_winner(live: LiveServer) -> None:
    url = live.sandbox.storage.presign_put(live.url, BUCKET, "once.bin", expires_in=300, single_use=True).url
    bodies = [f"attempt-{number}".encode() for number in range(20)]

    def upload(body: bytes) -> int:
        return requests.put(url, data=body, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(upload, bodies))
    assert statuses.count(200) == 1 and statuses.count(403) == 19
    winner = bodies[statuses.index(200)]
    assert live.sandbox.storage.objects.read(BUCKET, "once.bin") == winner
