"""Two live sandboxes over one shared object store (two worker processes behind one address): what a
client does through one is seen through the other, over HTTP with boto3 and presigned URLs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from shared_objects_helpers import share_objects
from test_s3_api import s3_client

from mock_server.core.shared import SharedState, connect
from mock_server.settings import Settings
from mock_server.testing.server import LiveServer

BUCKET = "sandbox-uploads"
MIB = 1024 * 1024


@pytest.fixture
def servers(shared_state: SharedState, redis_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, ...]]:
    other = SharedState(connect(redis_url), shared_state.namespace)
    with ExitStack() as stack:
        pair = tuple(stack.enter_context(LiveServer(Settings(seed=7))) for _ in range(2))
        for server, state in zip(pair, (shared_state, other), strict=True):
            swapped = share_objects(server.sandbox, state, tmp_path / "spool")
            next(swapped)
            stack.callback(next, swapped, None)
        yield pair
    other.redis.close()


def test_objects_put_through_one_are_read_listed_and_deleted_through_the_other(
    servers: tuple[LiveServer, ...],
) -> None:
    a, b = (s3_client(server) for server in servers)
    for number in range(5):
        a.put_object(Bucket=BUCKET, Key=f"many/{number}", Body=b"x" * number, Metadata={"n": str(number)})
    first = a.list_objects_v2(Bucket=BUCKET, Prefix="many/", MaxKeys=2)
    rest = b.list_objects_v2(
        Bucket=BUCKET, Prefix="many/", MaxKeys=10, ContinuationToken=first["NextContinuationToken"]
    )
    assert [o["Key"] for o in first["Contents"] + rest["Contents"]] == [f"many/{n}" for n in range(5)]
    got = b.get_object(Bucket=BUCKET, Key="many/3")
    assert (got["Body"].read(), got["Metadata"]) == (b"xxx", {"n": "3"})
    b.delete_object(Bucket=BUCKET, Key="many/3")
    assert [o["Key"] for o in a.list_objects(Bucket=BUCKET, Prefix="many/")["Contents"]] == [
        "many/0", "many/1", "many/2", "many/4",
    ]  # fmt: skip
    a.put_bucket_cors(
        Bucket=BUCKET, CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}]}
    )
    assert b.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedMethods"] == ["PUT"]


def test_a_multipart_upload_moves_between_servers(servers: tuple[LiveServer, ...]) -> None:
    a, b = (s3_client(server) for server in servers)
    upload_id = a.create_multipart_upload(Bucket=BUCKET, Key="big.bin", ContentType="video/mp4")["UploadId"]
    first, second = b"1" * (5 * MIB), b"2" * 1000
    etags = [
        client.upload_part(Bucket=BUCKET, Key="big.bin", UploadId=upload_id, PartNumber=n, Body=data)["ETag"]
        for client, n, data in ((b, 1, first), (a, 2, second))
    ]
    assert [p["Size"] for p in b.list_parts(Bucket=BUCKET, Key="big.bin", UploadId=upload_id)["Parts"]] == [
        5 * MIB, 1000,
    ]  # fmt: skip
    assert [u["UploadId"] for u in b.list_multipart_uploads(Bucket=BUCKET)["Uploads"]] == [upload_id]
    parts = [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, 1)]
    done = a.complete_multipart_upload(
        Bucket=BUCKET, Key="big.bin", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    digest = hashlib.md5(hashlib.md5(first).digest() + hashlib.md5(second).digest()).hexdigest()
    assert done["ETag"] == f'"{digest}-2"'
    got = b.get_object(Bucket=BUCKET, Key="big.bin")
    assert (got["ETag"], got["ContentType"], got["Body"].read()) == (
        done["ETag"],
        "video/mp4",
        first + second,
    )
    assert "Uploads" not in a.list_multipart_uploads(Bucket=BUCKET)


def test_a_presigned_put_on_one_is_served_by_the_others_presigned_get(
    servers: tuple[LiveServer, ...],
) -> None:
    a, b = servers
    put = a.sandbox.storage.presign_put(
        a.url, BUCKET, "doc.pdf", expires_in=300, content_type="application/pdf"
    )
    assert requests.put(put.url, data=b"%PDF-1.7", headers={"Content-Type": "application/pdf"}, timeout=30).ok
    get = b.sandbox.storage.presign_get(b.url, BUCKET, "doc.pdf", expires_in=300)
    response = requests.get(get.url, timeout=30)
    assert (response.status_code, response.content) == (200, b"%PDF-1.7")
    assert response.headers["content-type"] == "application/pdf"
