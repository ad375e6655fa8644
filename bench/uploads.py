"""The upload data path: presigned PUT, POST policy, Candid multipart; MB/s and the server's RSS.

MB here is MiB (2 MB = 2,097,152 bytes), as in the peer baseline. Objects are cleared with
``/__admin/reset`` between rounds (the embedded S3 serves presigned requests only, no DeleteObject).
"""

from __future__ import annotations

import os
import re
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from bench import workloads
from bench.admin import Admin
from bench.server import reset_peak, rss_mb

MIB = 1024 * 1024
SANDBOX_KEY = "AKIASANDBOX000000001"
SANDBOX_SECRET = "sandbox/secret/key/do-not-use-in-production"
BUCKET = "sandbox-uploads"


@dataclass
class UploadContext:
    base_url: str
    session: requests.Session
    admin: Admin
    pid: int | None
    vendors: list[str]
    s3_endpoint: str
    s3_key: str = SANDBOX_KEY
    s3_secret: str = SANDBOX_SECRET
    s3_region: str = "us-east-1"
    candid_token: str = ""

    def s3(self):  # noqa: ANN201 - boto3 clients have no importable type
        return s3_client(self.s3_endpoint, self.s3_key, self.s3_secret, self.s3_region)


def s3_client(endpoint: str, key: str = SANDBOX_KEY, secret: str = SANDBOX_SECRET, region: str = "us-east-1"):  # noqa: ANN201
    """boto3 S3 client for the embedded S3: SigV4, path-style, no retries."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


_PAYLOADS: dict[int, bytes] = {}


def payload(mib: int) -> bytes:
    if mib not in _PAYLOADS:
        _PAYLOADS[mib] = os.urandom(mib * MIB)
    return _PAYLOADS[mib]


def summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def timed(send: Callable[[], requests.Response], what: str) -> float:
    """Seconds one upload took. Raises: RuntimeError when it is not answered with a 2xx."""
    started = time.perf_counter()
    response = send()
    elapsed = time.perf_counter() - started
    if response.status_code // 100 != 2:
        raise RuntimeError(f"{what} answered {response.status_code}: {response.text[:300]}")
    return elapsed


# --------------------------------------------------------------------------------- one upload each
def storage_put(ctx: UploadContext, s3: object, key: str, data: bytes) -> float:
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600, HttpMethod="PUT"
    )
    return timed(lambda: ctx.session.put(url, data=data, timeout=120), f"PUT {key}")


def qubs_put(ctx: UploadContext, data: bytes) -> float:
    """Create one upload URL through QUBS (not timed), then PUT ``data`` to it (timed)."""
    created = ctx.session.post(
        ctx.base_url + workloads.QUBS_CREATE,
        json=workloads.qubs_items(1),
        timeout=30,
        headers={"Authorization": f"Bearer {workloads.QUBS_TOKEN}"},
    )
    created.raise_for_status()
    url = created.json()["items"][0]["uploadUrl"]
    return timed(
        lambda: ctx.session.put(url, data=data, headers={"Content-Type": "application/pdf"}, timeout=120),
        "PUT to a QUBS upload URL",
    )


def post_policy_upload(ctx: UploadContext, s3: object, key: str, data: bytes) -> float:
    post = s3.generate_presigned_post(
        BUCKET, key, Conditions=[["content-length-range", 0, 30 * MIB]], ExpiresIn=3600
    )
    body, content_type = workloads.multipart(
        list(post["fields"].items()), [("file", "upload.bin", "application/octet-stream", data)]
    )
    return timed(
        lambda: ctx.session.post(post["url"], data=body, headers={"Content-Type": content_type}, timeout=120),
        f"POST policy upload {key}",
    )


def candid_put(ctx: UploadContext, token: str, data: bytes) -> float:
    spec = workloads.candid_upload_spec(token, data, "scan.pdf")
    return timed(
        lambda: ctx.session.put(ctx.base_url + spec.path, data=spec.body, headers=spec.headers, timeout=300),
        "Candid 25 MB upload",
    )


# --------------------------------------------------------------------------------- sequential MB/s
def sequential(ctx: UploadContext, reps: dict[str, int]) -> dict[str, object]:
    """MB/s of uploads one after another, for each path this server has."""
    out: dict[str, object] = {}
    s3 = ctx.s3()
    rounds = {
        "storage_put_2mb": (
            2,
            reps["2mb"],
            lambda i: storage_put(ctx, s3, f"bench/seq-2-{i}.bin", payload(2)),
        ),
        "storage_put_25mb": (
            25,
            reps["25mb"],
            lambda i: storage_put(ctx, s3, f"bench/seq-25-{i}.bin", payload(25)),
        ),
        "post_policy_2mb": (
            2,
            reps["2mb"],
            lambda i: post_policy_upload(ctx, s3, f"bench/post-{i}.bin", payload(2)),
        ),
    }
    if "qubs" in ctx.vendors:
        rounds["qubs_put_2mb"] = (2, reps["2mb"], lambda i: qubs_put(ctx, payload(2)))
    if "candid" in ctx.vendors:
        rounds["candid_multipart_25mb"] = (
            25,
            reps["25mb"],
            lambda i: candid_put(ctx, ctx.candid_token, payload(25)),
        )
    for name, (mib, count, send) in rounds.items():
        ctx.admin.reset()  # start each kind with an empty store (tokens are issued again below)
        try:
            if name.startswith("candid"):
                ctx.candid_token = workloads.candid_access_token(ctx.base_url, ctx.session)
            seconds = [send(i) for i in range(count)]
        except (RuntimeError, requests.RequestException, workloads.Skip) as exc:
            out[name] = {"error": str(exc)}
            print(f"  {name}: FAILED {exc}", flush=True)
            continue
        out[name] = {"mb_per_s": summary([mib / s for s in seconds]), "seconds": summary(seconds)}
        print(
            f"  {name}: median {statistics.median(mib / s for s in seconds):.1f} MB/s over {count}",
            flush=True,
        )
    ctx.admin.reset()
    out["signature_probes"] = signature_probes(ctx, s3)
    return out


def signature_probes(ctx: UploadContext, s3: object) -> dict[str, int]:
    """Status for a zeroed signature and for a URL used on another key (403 from a verifying S3)."""

    def url(key: str) -> str:
        return s3.generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600, HttpMethod="PUT"
        )

    tampered = re.sub(r"X-Amz-Signature=[0-9a-f]+", "X-Amz-Signature=" + "0" * 64, url("bench/tampered.bin"))
    swapped = url("bench/other.bin").replace("bench/other.bin", "bench/swapped.bin")
    return {
        "tampered_signature": ctx.session.put(tampered, data=b"x", timeout=30).status_code,
        "swapped_key": ctx.session.put(swapped, data=b"x", timeout=30).status_code,
    }


# --------------------------------------------------------------------------------- concurrent + RSS
def concurrent_rss(ctx: UploadContext, rounds: int, concurrency: int = 8) -> dict[str, object]:
    """``concurrency`` simultaneous 25 MB uploads; aggregate MB/s and the server's RSS before and at peak."""
    out: dict[str, object] = {}
    s3 = ctx.s3()
    kinds: dict[str, Callable[[int, int], float]] = {
        "storage_put": lambda r, i: storage_put(ctx, s3, f"bench/conc-{r}-{i}.bin", payload(25)),
    }
    if "candid" in ctx.vendors:
        kinds["candid_multipart"] = lambda r, i: candid_put(ctx, ctx.candid_token, payload(25))
    payload(25)
    for name, send in kinds.items():
        results = []
        for r in range(rounds):
            ctx.admin.reset()
            if name == "candid_multipart":
                ctx.candid_token = workloads.candid_access_token(ctx.base_url, ctx.session)
            results.append(_one_round(ctx, lambda i, r=r, send=send: send(r, i), concurrency))
            last = results[-1]
            print(
                f"  {concurrency}x25MB {name}[{r}]: {last.get('agg_mb_per_s', 0):.1f} MB/s, RSS idle "
                f"{last.get('rss_before_mb') or 0:.0f} MB, peak {last.get('peak_rss_mb') or 0:.0f} MB",
                flush=True,
            )
        ok = [x for x in results if "error" not in x]
        out[name] = {
            "rounds": results,
            "agg_mb_per_s": summary([x["agg_mb_per_s"] for x in ok]),
            "rss_before_mb": summary([x["rss_before_mb"] for x in ok if x["rss_before_mb"] is not None]),
            "peak_rss_mb": summary([x["peak_rss_mb"] for x in ok if x["peak_rss_mb"] is not None]),
            "peak_delta_mb": summary(
                [
                    x["peak_rss_mb"] - x["rss_before_mb"]
                    for x in ok
                    if x["peak_rss_mb"] is not None and x["rss_before_mb"] is not None
                ]
            ),
        }
    ctx.admin.reset()
    return out


def _one_round(ctx: UploadContext, send: Callable[[int], float], concurrency: int) -> dict[str, object]:
    pid = ctx.pid
    time.sleep(1.0)
    before = rss_mb(pid) if pid else None
    hwm_reset = reset_peak(pid) if pid else False
    peak = [before or 0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set() and pid:
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(send, range(concurrency)))
    except (RuntimeError, requests.RequestException) as exc:
        return {"error": str(exc)}
    finally:
        done.set()
        sampler.join()
    wall = time.perf_counter() - started
    hwm = rss_mb(pid, "VmHWM") if pid and hwm_reset else 0.0
    return {
        "wall_s": wall,
        "agg_mb_per_s": 25 * concurrency / wall,
        "rss_before_mb": before,
        "peak_rss_mb": max(peak[0], hwm) if pid else None,
        "hwm_reset": hwm_reset,
    }
