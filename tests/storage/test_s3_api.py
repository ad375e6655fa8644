"""The header-signed S3 API with a real client: boto3 against a live sandbox at ``<url>/s3``, path-style."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.handlers import validate_bucket_name

from mock_server.testing.server import LiveServer

BUCKET = "sandbox-uploads"
MIB = 1024 * 1024


def s3_client(live: LiveServer, **overrides: str) -> BaseClient:
    settings = live.settings
    return boto3.client(
        "s3",
        endpoint_url=live.url + "/s3",
        aws_access_key_id=overrides.get("key", settings.s3_access_key_id),
        aws_secret_access_key=overrides.get("secret", settings.s3_secret_access_key),
        region_name=overrides.get("region", settings.s3_region),
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 0}),
    )


@pytest.fixture
def s3(live: LiveServer) -> Iterator[BaseClient]:
    client = s3_client(live)
    yield client
    client.close()


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = excinfo.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


class TestObjects:
    def test_put_then_get_head_list_and_delete(self, s3: BaseClient, live: LiveServer) -> None:
        put = s3.put_object(Bucket=BUCKET, Key="dir/a b.txt", Body=b"hello", ContentType="text/plain")
        assert put["ETag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
        got = s3.get_object(Bucket=BUCKET, Key="dir/a b.txt")
        assert got["Body"].read() == b"hello" and got["ContentType"] == "text/plain"
        head = s3.head_object(Bucket=BUCKET, Key="dir/a b.txt")
        assert head["ContentLength"] == 5 and head["ETag"] == put["ETag"]
        listed = s3.list_objects_v2(Bucket=BUCKET)
        assert [(o["Key"], o["Size"]) for o in listed["Contents"]] == [("dir/a b.txt", 5)]
        assert listed["KeyCount"] == 1
        s3.delete_object(Bucket=BUCKET, Key="dir/a b.txt")
        assert live.sandbox.storage.objects.head(BUCKET, "dir/a b.txt") is None
        assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)

    def test_delete_objects(self, s3: BaseClient, live: LiveServer) -> None:
        for key in ("d/1", "d/2", "keep"):
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
        deleted = s3.delete_objects(
            Bucket=BUCKET, Delete={"Objects": [{"Key": "d/1"}, {"Key": "d/2"}, {"Key": "never-existed"}]}
        )
        assert sorted(d["Key"] for d in deleted["Deleted"]) == ["d/1", "d/2", "never-existed"]
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["keep"]

    def test_get_missing_key_is_no_such_key(self, s3: BaseClient) -> None:
        with pytest.raises(ClientError) as excinfo:
            s3.get_object(Bucket=BUCKET, Key="missing.txt")
        assert error_of(excinfo)[:2] == (404, "NoSuchKey")

    def test_upload_fileobj_uses_multipart_for_large_bodies(self, s3: BaseClient) -> None:
        data = bytes(range(256)) * (9 * MIB // 256)
        s3.upload_fileobj(io.BytesIO(data), BUCKET, "big.bin")
        head = s3.head_object(Bucket=BUCKET, Key="big.bin")
        assert head["ETag"].endswith('-2"') and head["ContentLength"] == len(data)
        assert s3.get_object(Bucket=BUCKET, Key="big.bin")["Body"].read() == data

    def test_copy_object_keeps_bytes_and_type(self, s3: BaseClient) -> None:
        s3.put_object(Bucket=BUCKET, Key="src.json", Body=b"{}", ContentType="application/json")
        copied = s3.copy_object(
            Bucket=BUCKET, Key="dst.json", CopySource={"Bucket": BUCKET, "Key": "src.json"}
        )
        assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"{}").hexdigest()}"'
        got = s3.get_object(Bucket=BUCKET, Key="dst.json")
        assert got["Body"].read() == b"{}" and got["ContentType"] == "application/json"

    def test_user_metadata_is_kept(self, s3: BaseClient, live: LiveServer) -> None:
        s3.put_object(Bucket=BUCKET, Key="m.txt", Body=b"x", Metadata={"owner": "qa"})
        assert live.sandbox.storage.objects.head(BUCKET, "m.txt").metadata == {"owner": "qa"}  # type: ignore[union-attr]

    def test_stored_headers_come_back_on_head_get_and_copy(self, s3: BaseClient) -> None:
        s3.put_object(
            Bucket=BUCKET,
            Key="h.txt",
            Body=b"x",
            Metadata={"owner": "qa"},
            CacheControl="no-cache",
            ContentDisposition="attachment",
        )
        s3.copy_object(Bucket=BUCKET, Key="h2.txt", CopySource={"Bucket": BUCKET, "Key": "h.txt"})
        for key in ("h.txt", "h2.txt"):
            for read in (s3.head_object(Bucket=BUCKET, Key=key), s3.get_object(Bucket=BUCKET, Key=key)):
                assert read["Metadata"] == {"owner": "qa"}, key
                assert (read["CacheControl"], read["ContentDisposition"]) == ("no-cache", "attachment")

    @pytest.mark.parametrize(
        ("promise", "code"),
        [
            ({"ContentMD5": "AAAAAAAAAAAAAAAAAAAAAA=="}, "BadDigest"),
            ({"ContentMD5": "not-base64"}, "InvalidDigest"),
            ({"ChecksumCRC32": "AAAAAA=="}, "BadDigest"),
        ],
    )
    def test_integrity_promises_are_checked(
        self, s3: BaseClient, live: LiveServer, promise: dict[str, str], code: str
    ) -> None:
        with pytest.raises(ClientError) as excinfo:
            s3.put_object(Bucket=BUCKET, Key="d.txt", Body=b"x", **promise)  # type: ignore[arg-type]
        assert error_of(excinfo)[:2] == (400, code)
        assert live.sandbox.storage.objects.head(BUCKET, "d.txt") is None

    @pytest.mark.parametrize(
        "call",
        [
            lambda s3: s3.get_object_tagging(Bucket=BUCKET, Key="t.txt"),
            lambda s3: s3.get_object_acl(Bucket=BUCKET, Key="t.txt"),
            lambda s3: s3.list_object_versions(Bucket=BUCKET),
            lambda s3: s3.get_bucket_tagging(Bucket=BUCKET),
            lambda s3: s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}),
        ],
        ids=["get-object-tagging", "get-object-acl", "list-versions", "get-bucket-tagging", "put-versioning"],
    )
    def test_unemulated_subresources_are_not_implemented(self, s3: BaseClient, call: Any) -> None:
        s3.put_object(Bucket=BUCKET, Key="t.txt", Body=b"x")
        with pytest.raises(ClientError) as excinfo:
            call(s3)
        assert error_of(excinfo)[:2] == (501, "NotImplemented")


class TestListings:
    @pytest.fixture(autouse=True)
    def _objects(self, s3: BaseClient) -> None:
        for key in ("a/1.txt", "a/2.txt", "b/3.txt", "top.txt", "sp ace/%.txt"):
            s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())

    def test_list_buckets_names_the_sandbox_buckets(self, s3: BaseClient) -> None:
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert BUCKET in names and "qubs-report-attachments" in names

    def test_head_bucket_and_missing_bucket(self, s3: BaseClient) -> None:
        assert s3.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200
        with pytest.raises(ClientError) as excinfo:
            s3.head_bucket(Bucket="no-such-bucket")
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    def test_v2_delimiter_prefix_and_pagination(self, s3: BaseClient) -> None:
        top = s3.list_objects_v2(Bucket=BUCKET, Delimiter="/")
        assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/", "sp ace/"]
        assert [o["Key"] for o in top["Contents"]] == ["top.txt"]
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=BUCKET, PaginationConfig={"PageSize": 2}
            )
            for o in page["Contents"]
        ]
        assert keys == ["a/1.txt", "a/2.txt", "b/3.txt", "sp ace/%.txt", "top.txt"]
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="a/")["Contents"]] == [
            "a/1.txt",
            "a/2.txt",
        ]

    @pytest.mark.parametrize("token", ["bogus", "", "YS8xLnR4dA==", "%%%"])
    def test_v2_unknown_continuation_token_is_invalid_argument(self, s3: BaseClient, token: str) -> None:
        """Only a NextContinuationToken a listing gave out continues it; S3 answers any other (an empty
        one too) 400 InvalidArgument."""
        first = s3.list_objects_v2(Bucket=BUCKET, MaxKeys=2)
        assert first["IsTruncated"]
        with pytest.raises(ClientError) as excinfo:
            s3.list_objects_v2(Bucket=BUCKET, ContinuationToken=token)
        assert error_of(excinfo) == (400, "InvalidArgument", "The continuation token provided is incorrect")
        rest = s3.list_objects_v2(Bucket=BUCKET, ContinuationToken=first["NextContinuationToken"])
        assert [o["Key"] for o in rest["Contents"]] == ["b/3.txt", "sp ace/%.txt", "top.txt"]

    def test_v2_a_continuation_token_belongs_to_its_bucket(self, s3: BaseClient) -> None:
        """A token continues the listing of the bucket that gave it out, not another's (as S3's)."""
        s3.create_bucket(Bucket="other-bucket")
        for key in ("a/1.txt", "a/2.txt", "b/3.txt"):
            s3.put_object(Bucket="other-bucket", Key=key, Body=b"x")
        token = s3.list_objects_v2(Bucket=BUCKET, MaxKeys=2)["NextContinuationToken"]
        with pytest.raises(ClientError) as excinfo:
            s3.list_objects_v2(Bucket="other-bucket", ContinuationToken=token)
        assert error_of(excinfo) == (400, "InvalidArgument", "The continuation token provided is incorrect")
        listed = s3.list_objects_v2(Bucket=BUCKET, ContinuationToken=token)
        assert listed["ContinuationToken"] == token and listed["KeyCount"] == 3

    def test_v1_listing_with_marker(self, s3: BaseClient) -> None:
        listed = s3.list_objects(Bucket=BUCKET, Marker="b/3.txt")
        assert [o["Key"] for o in listed["Contents"]] == ["sp ace/%.txt", "top.txt"]

    def test_missing_bucket_is_no_such_bucket(self, s3: BaseClient) -> None:
        with pytest.raises(ClientError) as excinfo:
            s3.list_objects_v2(Bucket="no-such-bucket")
        assert error_of(excinfo) == (404, "NoSuchBucket", "The specified bucket does not exist")


class TestMultipart:
    def test_create_upload_list_complete(self, s3: BaseClient) -> None:
        upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="mp.bin", ContentType="video/mp4")[
            "UploadId"
        ]
        first = s3.upload_part(
            Bucket=BUCKET, Key="mp.bin", UploadId=upload_id, PartNumber=1, Body=b"a" * 5 * MIB
        )
        second = s3.upload_part(Bucket=BUCKET, Key="mp.bin", UploadId=upload_id, PartNumber=2, Body=b"b")
        parts = s3.list_parts(Bucket=BUCKET, Key="mp.bin", UploadId=upload_id)["Parts"]
        assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 5 * MIB), (2, 1)]
        assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]] == [upload_id]
        done = s3.complete_multipart_upload(
            Bucket=BUCKET,
            Key="mp.bin",
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": first["ETag"]}, {"PartNumber": 2, "ETag": second["ETag"]}]
            },
        )
        md5s = hashlib.md5(bytes.fromhex(first["ETag"].strip('"')) + bytes.fromhex(second["ETag"].strip('"')))
        assert done["ETag"] == f'"{md5s.hexdigest()}-2"'
        got = s3.get_object(Bucket=BUCKET, Key="mp.bin")
        assert got["ContentType"] == "video/mp4" and got["Body"].read() == b"a" * 5 * MIB + b"b"
        assert "Uploads" not in s3.list_multipart_uploads(Bucket=BUCKET)

    def test_abort_forgets_the_upload(self, s3: BaseClient) -> None:
        upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="gone.bin")["UploadId"]
        s3.abort_multipart_upload(Bucket=BUCKET, Key="gone.bin", UploadId=upload_id)
        with pytest.raises(ClientError) as excinfo:
            s3.upload_part(Bucket=BUCKET, Key="gone.bin", UploadId=upload_id, PartNumber=1, Body=b"x")
        assert error_of(excinfo)[:2] == (404, "NoSuchUpload")

    @pytest.mark.parametrize(
        ("parts", "code"),
        [
            ([(2, "first"), (1, "second")], "InvalidPartOrder"),
            ([(1, '"0123456789abcdef0123456789abcdef"')], "InvalidPart"),
            ([(1, "first"), (2, "second")], "EntityTooSmall"),
        ],
    )
    def test_complete_refusals(self, s3: BaseClient, parts: list[tuple[int, str]], code: str) -> None:
        upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="bad.bin")["UploadId"]
        etags = {
            "first": s3.upload_part(
                Bucket=BUCKET, Key="bad.bin", UploadId=upload_id, PartNumber=1, Body=b"small"
            )["ETag"]
        }
        etags["second"] = s3.upload_part(
            Bucket=BUCKET, Key="bad.bin", UploadId=upload_id, PartNumber=2, Body=b"x"
        )["ETag"]
        with pytest.raises(ClientError) as excinfo:
            s3.complete_multipart_upload(
                Bucket=BUCKET,
                Key="bad.bin",
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags.get(e, e)} for n, e in parts]},
            )
        assert error_of(excinfo)[:2] == (400, code)

    def test_presigned_upload_part_with_unknown_upload_id_is_no_such_upload(
        self, s3: BaseClient, live: LiveServer
    ) -> None:
        url = s3.generate_presigned_url(
            "upload_part", Params={"Bucket": BUCKET, "Key": "p.bin", "UploadId": "nope", "PartNumber": 1}
        )
        response = requests.put(url, data=b"whole object?", timeout=10)
        assert response.status_code == 404 and b"<Code>NoSuchUpload</Code>" in response.content
        assert live.sandbox.storage.objects.head(BUCKET, "p.bin") is None

    def test_presigned_upload_part_for_a_real_upload(self, s3: BaseClient) -> None:
        upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="p.bin")["UploadId"]
        url = s3.generate_presigned_url(
            "upload_part", Params={"Bucket": BUCKET, "Key": "p.bin", "UploadId": upload_id, "PartNumber": 1}
        )
        response = requests.put(url, data=b"part one", timeout=10)
        assert response.status_code == 200
        assert response.headers["ETag"] == f'"{hashlib.md5(b"part one").hexdigest()}"'
        s3.complete_multipart_upload(
            Bucket=BUCKET,
            Key="p.bin",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": response.headers["ETag"]}]},
        )
        assert s3.get_object(Bucket=BUCKET, Key="p.bin")["Body"].read() == b"part one"


class TestCredentials:
    @pytest.mark.parametrize(
        ("overrides", "status", "code"),
        [
            ({"secret": "wrong"}, 403, "SignatureDoesNotMatch"),
            ({"key": "AKIAUNKNOWN000000000"}, 403, "InvalidAccessKeyId"),
        ],
    )
    def test_wrong_credentials_are_refused(
        self, live: LiveServer, overrides: dict[str, str], status: int, code: str
    ) -> None:
        client = s3_client(live, **overrides)
        with pytest.raises(ClientError) as excinfo:
            client.put_object(Bucket=BUCKET, Key="x.txt", Body=b"x")
        assert error_of(excinfo)[:2] == (status, code)
        assert live.sandbox.storage.objects.head(BUCKET, "x.txt") is None

    def test_wrong_region_is_corrected_by_the_client_as_on_s3(self, live: LiveServer) -> None:
        # S3 names the bucket's region in AuthorizationHeaderMalformed; botocore re-signs with it.
        client = s3_client(live, region="eu-west-1")
        client.put_object(Bucket=BUCKET, Key="x.txt", Body=b"x")
        assert live.sandbox.storage.objects.read(BUCKET, "x.txt") == b"x"
        entries = live.sandbox.journal.entries(operation="storage.objectOperation")
        assert [e.status for e in entries][:2] == [200, 400]

    def test_clock_skew_is_request_time_too_skewed(self, s3: BaseClient, live: LiveServer) -> None:
        live.sandbox.clock.advance(16 * 60)
        with pytest.raises(ClientError) as excinfo:
            s3.list_objects_v2(Bucket=BUCKET)
        assert error_of(excinfo) == (
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )


class TestBucketCors:
    def test_put_get_delete_bucket_cors(self, s3: BaseClient, live: LiveServer) -> None:
        rules = [
            {
                "AllowedOrigins": ["http://localhost:*"],
                "AllowedMethods": ["PUT", "GET"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 30,
            }
        ]
        s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": rules})
        assert s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"] == rules
        preflight = requests.options(
            f"{live.url}/s3/{BUCKET}/k",
            timeout=10,
            headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "PUT"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        s3.delete_bucket_cors(Bucket=BUCKET)
        with pytest.raises(ClientError) as excinfo:
            s3.get_bucket_cors(Bucket=BUCKET)
        assert error_of(excinfo) == (404, "NoSuchCORSConfiguration", "The CORS configuration does not exist")


class TestBucketsAndReset:
    def test_create_bucket_then_use_it(self, s3: BaseClient) -> None:
        s3.create_bucket(Bucket="my-seed-bucket")
        s3.put_object(Bucket="my-seed-bucket", Key="seed.json", Body=b"{}")
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="my-seed-bucket")["Contents"]] == ["seed.json"]

    def test_invalid_bucket_name(self, live: LiveServer) -> None:
        client = s3_client(live)
        # botocore validates names client-side; send the request it would send for a bad name by hand.
        client.meta.events.unregister("before-parameter-build.s3", validate_bucket_name)
        with pytest.raises(ClientError) as excinfo:
            client.create_bucket(Bucket="Bad_Name")
        assert error_of(excinfo) == (400, "InvalidBucketName", "The specified bucket is not valid.")

    def test_reset_forgets_uploads_in_progress_and_run_time_cors(
        self, s3: BaseClient, live: LiveServer
    ) -> None:
        upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="pending.bin")["UploadId"]
        s3.upload_part(Bucket=BUCKET, Key="pending.bin", UploadId=upload_id, PartNumber=1, Body=b"x")
        s3.put_bucket_cors(
            Bucket=BUCKET,
            CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]},
        )
        live.sandbox.reset()
        assert "Uploads" not in s3.list_multipart_uploads(Bucket=BUCKET)
        with pytest.raises(ClientError) as excinfo:
            s3.get_bucket_cors(Bucket=BUCKET)
        assert error_of(excinfo)[:2] == (404, "NoSuchCORSConfiguration")
        assert s3.get_bucket_cors(Bucket="qubs-report-attachments")["CORSRules"][0]["ExposeHeaders"] == [
            "ETag"
        ]
