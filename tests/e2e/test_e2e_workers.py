"""``mock-server serve --workers 2 --state-url redis://...``: two processes, one sandbox.

Connections are spread by the kernel, so each check first finds a keep-alive connection to each
worker (the health answer names the process) and then sends the steps through chosen ones.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest
import requests

from mock_server.cli import main
from mock_server.core.clock import Clock
from mock_server.testing.process import ServerProcess

CREATE = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"
LIST = "/qubs/integrations/v1/acme/reporting/appointments/A123456/attachments"
ACME = {"Authorization": "Bearer qubs-dev-token"}
ATTEMPTS = 200


def _two_workers(redis_url: str, namespace: str) -> dict[str, str]:
    """The environment of a server of two workers over ``redis_url``, in its own namespace."""
    return {
        "MOCK_SERVER_WORKERS": "2",
        "MOCK_SERVER_STATE_URL": redis_url,
        "MOCK_SERVER_STATE_NAMESPACE": namespace,
    }


@pytest.fixture(scope="module")
def workers(redis_url: str) -> Iterator[ServerProcess]:
    env = _two_workers(redis_url, "e2e")
    with ServerProcess(env=env) as server:
        yield server
        assert server.stop(signal.SIGTERM) == 0


def _create(session: requests.Session, url: str, headers: dict[str, str] = ACME) -> requests.Response:
    """QUBS create upload URLs for one PDF, through ``session`` (a connection to one worker)."""
    return session.post(
        url + CREATE,
        json={"items": [{"fileName": "r.pdf", "contentType": "application/pdf"}]},
        headers=headers,
        timeout=10,
    )


def _one_per_worker(url: str) -> dict[int, requests.Session]:
    """A keep-alive connection to each of the two workers."""
    found: dict[int, requests.Session] = {}
    for _ in range(ATTEMPTS):
        session = requests.Session()
        health = session.get(url + "/__admin/health", timeout=10).json()
        assert health["state"] == "redis"
        if health["pid"] in found:
            session.close()
        else:
            found[health["pid"]] = session
        if len(found) == 2:
            return found
    pytest.fail(f"{ATTEMPTS} connections all reached one worker")


def test_an_upload_url_from_one_worker_is_honoured_once_by_the_other(workers: ServerProcess) -> None:
    first, second = _one_per_worker(workers.url).values()
    made = _create(first, workers.url)
    assert made.status_code == 201, made.text
    url = made.json()["items"][0]["uploadUrl"]
    stored = second.put(
        url, data=b"%PDF-1.7 two workers", headers={"Content-Type": "application/pdf"}, timeout=10
    )
    assert stored.status_code == 200, stored.text
    again = first.put(
        url, data=b"%PDF-1.7 two workers", headers={"Content-Type": "application/pdf"}, timeout=10
    )
    assert again.status_code == 403
    assert "<Code>AccessDenied</Code>" in again.text
    listed = first.get(workers.url + LIST, headers=ACME, timeout=10).json()["items"]
    assert made.json()["items"][0]["guid"] in [item["guid"] for item in listed]


def test_an_answer_and_its_journal_entry_are_seen_together_by_the_other_worker(
    workers: ServerProcess,
) -> None:
    first, second = _one_per_worker(workers.url).values()
    for number in range(20):
        writer, reader = (first, second) if number % 2 else (second, first)
        correlation = f"e2e-journal-{number}"
        made = _create(writer, workers.url, {**ACME, "X-Correlation-Id": correlation})
        assert made.status_code == 201, made.text
        # No waiting: the entry and the attachment were written before the answer went out.
        listed = reader.get(workers.url + LIST, headers=ACME, timeout=10).json()["items"]
        assert made.json()["items"][0]["guid"] in [item["guid"] for item in listed]
        newest = reader.get(workers.url + "/__admin/requests", params={"limit": 5}, timeout=10).json()
        assert correlation in [entry.get("correlationId") for entry in newest["requests"]], newest


def test_a_clock_moved_through_one_worker_is_seen_by_the_other(workers: ServerProcess) -> None:
    first, second = _one_per_worker(workers.url).values()
    assert (
        first.post(workers.url + "/__admin/clock", json={"freeze": "2031-05-06T07:08:09Z"}).status_code == 200
    )
    assert second.get(workers.url + "/__admin/clock").json()["now"] == "2031-05-06T07:08:09Z"
    assert second.post(workers.url + "/__admin/clock", json={"unfreeze": True}).status_code == 200


def _sockets_to(pid: int, port: int) -> set[str]:
    """Inodes of ``pid``'s open TCP sockets connected to ``port`` on this machine (Linux /proc)."""
    remote = f":{port:04X}"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[2].endswith(remote):
                    inodes.add(fields[9])
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held.add(target[8:-1])
    return held


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads Linux's /proc")
def test_the_supervisor_keeps_no_connection_to_redis(workers: ServerProcess, redis_url: str) -> None:
    """The start-up check connects to Redis; those sockets are closed before the fork, so no worker
    inherits them (each opens its own) and the supervisor holds none."""
    port = int(redis_url.rsplit(":", 1)[1].split("/", 1)[0])
    sessions = _one_per_worker(workers.url)
    assert all(_create(session, workers.url).status_code == 201 for session in sessions.values())
    assert _sockets_to(workers.pid, port) == set()
    inherited = set.intersection(*(_sockets_to(pid, port) for pid in sessions))
    assert inherited == set()  # no socket shared by both workers
    assert all(_sockets_to(pid, port) for pid in sessions)  # each has its own


def test_sigterm_stops_every_worker_cleanly(redis_url: str) -> None:
    env = _two_workers(redis_url, "stop")
    with ServerProcess(env=env) as server:
        assert requests.get(server.url + "/__admin/health", timeout=10).status_code == 200
        assert server.stop(signal.SIGTERM) == 0
    assert "mock-server: stopped" in server.output


def test_workers_stop_when_their_supervisor_is_killed(redis_url: str) -> None:
    env = _two_workers(redis_url, "kill")
    with ServerProcess(env=env) as server:
        pids = set(_one_per_worker(server.url))
        server.send_signal(signal.SIGKILL)
        server.wait()
        clock = Clock()
        deadline = clock.monotonic() + 20
        while pids and clock.monotonic() < deadline:
            pids = {pid for pid in pids if _alive(pid)}
            clock_wait = threading.Event()
            clock_wait.wait(0.05)
    assert not pids, f"workers {pids} outlived their supervisor"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as stopped.
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_workers_without_a_state_url_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", "2", "--port", "0"]) == 2
    assert "--workers (MOCK_SERVER_WORKERS) above 1 needs --state-url" in capsys.readouterr().err


def test_an_unreachable_state_url_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--state-url", "redis://127.0.0.1:1/0", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mock-server: cannot start: --state-url redis://127.0.0.1:1/0: cannot reach")
    assert len(err.strip().splitlines()) == 1


def test_a_redis_outage_is_a_503_and_a_restart_refills_the_fixtures() -> None:
    from mock_server.testing import redis_server

    if not redis_server.available():
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with redis_server.RedisServer() as redis:
        env = {"MOCK_SERVER_WORKERS": "2", "MOCK_SERVER_STATE_URL": redis.url}
        with ServerProcess(env=env) as server:
            sessions = list(_one_per_worker(server.url).values())
            redis.kill()
            for session in sessions:
                down = _create(session, server.url)
                assert down.status_code == 503, down.text
                assert down.headers["Retry-After"] == "1"
                assert down.headers["Content-Type"].startswith("application/problem+json")  # QUBS's format
                assert "Redis" in down.json()["detail"]
                assert down.json()["requestId"] == down.headers["X-Correlation-Id"] != ""
                health = session.get(server.url + "/__admin/health", timeout=10)
                assert health.status_code == 503 and health.json()["error"]["status"] == 503
            redis.start()  # empty, on the same port: the workers load the fixtures again themselves
            for session in sessions:
                made = _create(session, server.url)
                assert made.status_code == 201, made.text
            token = sessions[0].post(
                server.url + "/candid/api/auth/v2/token",
                json={"client_id": "candid-dev-client", "client_secret": "candid-dev-secret"},
                timeout=10,
            )
            assert token.status_code == 200, token.text
            assert server.stop(signal.SIGTERM) == 0
            assert "Traceback" not in server.output
            assert "cannot be reached" in server.output and "emptied" in server.output
            refused = [line for line in server.output.splitlines() if " 503 " in line and "cid=" in line]
            assert len(refused) == len(sessions), (
                server.output
            )  # each 503 has its request line (health: none)
            assert all("error=StateUnavailable" in line and "cid= " not in line for line in refused)
