"""SIGTERM/SIGINT with an upload in flight: the real ``python -m mock_server serve`` in a child process.

The upload goes to a presigned PUT URL made the way an integrator would make one (boto3, the sandbox
credentials from the README, path-style endpoint ``/s3``, SigV4) for the default ``sandbox-uploads``
bucket. The body is sent in pieces over a raw socket so the signal lands mid-body.
"""

from __future__ import annotations

import hashlib
import signal
import socket
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from mock_server.testing.process import ServerProcess

PIECE = b"x" * 64 * 1024
PIECES = 4


def presigned_put(port: int, key: str) -> str:
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}/s3",
        region_name="us-east-1",
        aws_access_key_id="AKIASANDBOX000000001",
        aws_secret_access_key="sandbox/secret/key/do-not-use-in-production",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    return s3.generate_presigned_url(
        "put_object", Params={"Bucket": "sandbox-uploads", "Key": key}, ExpiresIn=300
    )


class SlowUpload:
    """A PUT whose body is sent piece by piece; ``Expect: 100-continue`` tells us the handler is reading."""

    def __init__(self, url: str, total: int) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        head = (
            f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Length: {total}\r\nExpect: 100-continue\r\n\r\n"
        )
        self.sock.sendall(head.encode("ascii"))

    def read_until(self, marker: bytes) -> bytes:
        data = b""
        while marker not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def response(self) -> tuple[int, bytes]:
        """Status and raw head+body, read until the server closes the connection."""
        data = self.read_until(b"\x00never")  # to EOF
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
        return status, data

    def close(self) -> None:
        self.sock.close()


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_in_flight_upload_finishes_and_exit_code_is_zero(stop_signal: signal.Signals) -> None:
    with ServerProcess(env={"MOCK_SERVER_SHUTDOWN_GRACE": "30"}) as server:
        upload = SlowUpload(presigned_put(server.port, "drain/report.bin"), len(PIECE) * PIECES)
        try:
            assert upload.read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 100 Continue")  # signature verified
            upload.sock.sendall(PIECE)

            line = server.wait_for("stopping", after=lambda: server.send_signal(stop_signal))
            assert f"({stop_signal.name})" in line and "1 open connection(s)" in line
            assert _refuses_connections(server.port)  # draining: no new connections

            for _ in range(PIECES - 1):
                upload.sock.sendall(PIECE)
            status, raw = upload.response()
        finally:
            upload.close()
        server.wait_for("mock-server: stopped")
        server.send_signal(stop_signal)  # a repeated signal while exiting keeps the exit code 0
        code = server.wait(timeout=30)
    assert status == 200, raw
    expected_etag = hashlib.md5(PIECE * PIECES).hexdigest()  # noqa: S324 - S3's ETag is an MD5
    assert f'etag: "{expected_etag}"'.encode() in raw.lower()
    assert code == 0, server.output
    assert server.output.rstrip().endswith("mock-server: stopped")


def test_upload_cut_after_grace_period_still_exits_zero() -> None:
    with ServerProcess(env={"MOCK_SERVER_SHUTDOWN_GRACE": "0.2"}) as server:
        upload = SlowUpload(presigned_put(server.port, "drain/abandoned.bin"), len(PIECE) * PIECES)
        try:
            assert upload.read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 100 Continue")
            upload.sock.sendall(PIECE)
            server.wait_for(
                "timeout graceful shutdown exceeded", after=lambda: server.send_signal(signal.SIGTERM)
            )
            status, _ = upload.response()
        finally:
            upload.close()
        code = server.wait(timeout=30)  # already signalled: no second signal
    assert status != 200
    assert code == 0, server.output
