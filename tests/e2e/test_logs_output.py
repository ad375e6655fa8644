"""Request log lines: one per request, text or JSON, with vendor, operation, status, duration,
correlation id and scenario rule; and no secret ever reaches the log.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest
import requests
from botocore.config import Config
from starlette.testclient import TestClient

from mock_server import logs
from mock_server.testing.process import ServerProcess

ATTACHMENTS = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"
BUSY_ONCE = """
scenarios:
  - name: busy-once
    description: one 429
    rules:
      - id: first
        match: {operation: qubs.createReportAttachments}
        times: 1
        respond: {status: 429}
"""


@pytest.fixture(params=["text", "json"])
def captured(request: pytest.FixtureRequest) -> Iterator[tuple[str, io.StringIO]]:
    """The request logger, formatted as the CLI formats it, into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logs.formatter(request.param))
    logger = logging.getLogger(logs.REQUEST_LOGGER)
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield request.param, buffer
    logger.removeHandler(handler)
    logger.setLevel(saved[0])
    logger.propagate = saved[1]


def create_urls(client: TestClient, correlation_id: str) -> int:
    response = client.post(
        ATTACHMENTS,
        json={"items": [{"fileName": "r.pdf"}]},
        headers={"Authorization": "Bearer qubs-dev-token", "X-Correlation-Id": correlation_id},
    )
    return response.status_code


@pytest.mark.parametrize(
    "path",
    [
        "/decoda/x%0D%0A2026-12-01T11:11:11.111Z%20WARNING%20forged",
        "/s3/b/x%0a2026-12-01T00:00:00.000Z%20ERROR%20forged%1b[31mred",
        "/s3/%ff%fe/%00%e2%80%a8%c2%85",
    ],
)
def test_a_request_cannot_forge_or_colour_log_lines(
    client: TestClient, captured: tuple[str, io.StringIO], path: str
) -> None:
    """Control characters a client puts in the path (decoded CR, LF, NUL, ESC, NEL, U+2028) reach the text
    log escaped: one request, one line. JSON lines escape them already."""
    log_format, buffer = captured
    client.get(path)
    text = buffer.getvalue()
    assert text.count("\n") == 1 and "\r" not in text and "\x1b" not in text and "\x00" not in text
    assert "\u2028" not in text and "\x85" not in text
    (line,) = text.splitlines()
    if log_format == "text":
        assert line.isprintable() and ("forged" not in path or "\\x0a" in line or "\\n" in line)
    else:
        assert json.loads(line)["path"].startswith(("/decoda/x", "/s3/"))


def test_one_line_per_request_with_its_fields(client: TestClient, captured: tuple[str, io.StringIO]) -> None:
    log_format, buffer = captured
    assert client.post("/__admin/scenarios", content=BUSY_ONCE).status_code == 201
    assert create_urls(client, "cid-first") == 429
    assert create_urls(client, "cid-second") == 201
    client.get("/__admin/health")  # polled by docker every few seconds: never logged

    lines = buffer.getvalue().splitlines()
    assert len(lines) == 3  # the scenario upload, the two attempts
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        assert {
            k: records[1][k]
            for k in (
                "level",
                "logger",
                "vendor",
                "operation",
                "method",
                "path",
                "status",
                "correlationId",
                "scenarioRule",
            )
        } == {
            "level": "info",
            "logger": logs.REQUEST_LOGGER,
            "vendor": "qubs",
            "operation": "qubs.createReportAttachments",
            "method": "POST",
            "path": ATTACHMENTS,
            "status": 429,
            "correlationId": "cid-first",
            "scenarioRule": "busy-once/first",
        }
        assert records[2]["status"] == 201 and records[2]["scenarioRule"] is None
        assert all(
            isinstance(record["durationMs"], float) and record["time"].endswith("Z") for record in records
        )
    else:
        first, second = lines[1], lines[2]
        assert f"qubs qubs.createReportAttachments POST {ATTACHMENTS} 429 " in first
        assert first.endswith("cid=cid-first rule=busy-once/first")
        assert f" {ATTACHMENTS} 201 " in second and second.endswith("cid=cid-second")
        assert "ms cid=" in second and " INFO " in second


def test_text_line_shape_without_a_route() -> None:
    line = logs.request_line(
        {
            "vendor": None,
            "operation": None,
            "method": "GET",
            "path": "/nowhere",
            "status": 404,
            "durationMs": 0.25,
            "correlationId": "c1",
        }
    )
    assert line == "- - GET /nowhere 404 0.2ms cid=c1"


# --- secrets, through the real command at debug level ----------------------------------------------

BEARER = "sekret-bearer-token-7f3a9c2e51d04b68"
API_KEY = "sekret-api-key-0b1c2d3e4f5a6b7c"
CLIENT_SECRET = "sekret-client-secret-9d8c7b6a5f4e"


def presign(port: int, method: str) -> str:
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}/s3",
        region_name="us-east-1",
        aws_access_key_id="AKIASANDBOX000000001",
        aws_secret_access_key="sandbox/secret/key/do-not-use-in-production",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    return s3.generate_presigned_url(method, Params={"Bucket": "sandbox-uploads", "Key": "logs/secret.txt"})


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_secrets_never_reach_the_log(log_format: str) -> None:
    env = {"MOCK_SERVER_LOG_FORMAT": log_format, "MOCK_SERVER_LOG_LEVEL": "debug"}
    with ServerProcess(env=env) as server:
        url = server.url
        put_url, get_url = presign(server.port, "put_object"), presign(server.port, "get_object")
        signatures = [u.split("X-Amz-Signature=")[1].split("&")[0] for u in (put_url, get_url)]
        requests.get(
            url + "/qubs/integrations/v1/acme/reporting/appointments/pending",
            headers={"Authorization": f"Bearer {BEARER}"},
            timeout=10,
        )
        requests.post(url + "/decoda/attachments", headers={"API-KEY": API_KEY, "TENANT": "t1"}, timeout=10)
        requests.post(
            url + "/qubs/oauth2/token",
            timeout=10,
            data={
                "grant_type": "client_credentials",
                "client_id": "qubs-dev-client",
                "client_secret": CLIENT_SECRET,
            },
        )
        assert requests.put(put_url, data=b"hello", timeout=10).status_code == 200
        assert requests.get(get_url, timeout=10).status_code == 200
        journal = requests.get(url + "/__admin/requests", timeout=10).text
        server.wait_for("/s3/sandbox-uploads/logs/secret.txt 200")
        assert server.stop() == 0

    output = server.output
    for secret in (BEARER, API_KEY, CLIENT_SECRET, *signatures):
        assert secret not in output
        assert secret not in journal
    assert "X-Amz-Signature" not in output
    request_lines = [line for line in output.splitlines() if "cid=" in line or '"correlationId"' in line]
    assert len(request_lines) >= 6  # every request above was logged, only without its secrets
    if log_format == "json":
        records = [json.loads(line) for line in output.splitlines()]  # every line, banner included
        assert [r.get("event") for r in records if r.get("event")] == ["started", "stopping", "stopped"]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_serving_process_skips_what_no_line_shows(log_format: str) -> None:
    """``configure`` (as ``serve`` calls it) turns off the logging module's caller, thread and process
    lookups; the lines come out whole all the same. In a child process: the switches are process-wide."""
    script = f"""
import io, logging, sys
from mock_server import logs
buffer = io.StringIO()
logs.configure({log_format!r}, "info", stream=buffer)
logs.log_request(logging.getLogger(logs.REQUEST_LOGGER), dict(
    vendor="qubs", operation="qubs.x", method="GET", path="/qubs/a", status=200, durationMs=1.5,
    correlationId="cid-1", scenarioRule=None, error=None))
print(logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
print(buffer.getvalue(), end="")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    switches, line = done.stdout.splitlines()
    assert switches == "None False False False"
    if log_format == "json":
        record = json.loads(line)
        assert (
            record["path"] == "/qubs/a" and record["correlationId"] == "cid-1" and record["level"] == "info"
        )
        assert not {"process", "thread", "threadName", "processName", "filename"} & record.keys()
    else:
        assert line.endswith(" INFO    qubs qubs.x GET /qubs/a 200 1.5ms cid=cid-1")


def test_a_request_line_written_directly_is_the_line_the_handler_writes() -> None:
    """With ``configure``'s text handler as its only destination, the request line skips the logging
    module's record and dispatch; the text is the formatter's, and any other destination (a filter, a
    handler of its own) gets the line through ``logging`` as before. In a child process (``configure``
    sets process-wide switches)."""
    script = """
import io, logging
from mock_server import logs
buffer = io.StringIO()
logs.configure("text", "info", stream=buffer)
logger = logging.getLogger(logs.REQUEST_LOGGER)
entry = dict(vendor="qubs", operation="qubs.x", method="GET", path="/qubs/a\\x1b[31m", status=200,
             durationMs=1.5, correlationId="cid-1", scenarioRule="r", error=None)
logs.log_request(logger, entry)                      # directly
logger.info(logs.request_line(entry))                # through logging
seen = []
logger.addFilter(lambda record: seen.append(record) or True)
logs.log_request(logger, entry)                      # a filter: through logging
print(len(seen))
print(buffer.getvalue(), end="")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    filtered, *lines = done.stdout.splitlines()
    assert filtered == "1" and len(lines) == 3
    stamps, texts = zip(*(line.split(" ", 1) for line in lines), strict=True)
    assert all(len(stamp) == len("2026-12-01T15:00:00.000Z") and stamp.endswith("Z") for stamp in stamps)
    assert (
        texts[0]
        == texts[1]
        == texts[2]
        == "INFO    qubs qubs.x GET /qubs/a\\x1b[31m 200 1.5ms cid=cid-1 rule=r"
    )
