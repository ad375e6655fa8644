"""Side by side with the peer baseline: the shared peer driver (``bench.py target``) run against this
sandbox exactly as it was run against WireMock, Prism, Mockoon and moto_server, and our rows put
beside the rows of its RESULTS-peers.md.

The driver is called where it lives (``--peer-bench DIR``), never copied. Two targets:
- ``vendor-sandbox``: cold start (launched by the driver) and the JSON POST: the peers'
  ``attachments-request.json`` sent to QUBS's create-upload-URLs endpoint (QUBS names the list
  ``items``; bench/data/qubs-attachments-request.json is that request in QUBS's shape) with a bearer token;
- ``vendor-sandbox-s3``: PUT of the peers' 1 KB file to one boto3-presigned URL on the embedded S3.
  The driver's own ``--load-presign-put``/``--upload`` phases call HeadBucket/DeleteObject with
  header auth, which the embedded S3 (presigned requests only) does not serve, so the URL is
  presigned here and given as ``--load-url``; the upload figures come from bench/uploads.py, which
  follows the driver's protocol (10 x 2 MB, 5 x 25 MB, rounds of 8 x 25 MB, VmHWM reset + 10 ms sampling).
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
from pathlib import Path

from bench.server import Server
from bench.uploads import BUCKET, s3_client
from bench.workloads import QUBS_CREATE, QUBS_TOKEN

HERE = Path(__file__).resolve().parent
REQUEST_FILE = HERE / "data" / "qubs-attachments-request.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def driver_args(params: dict[str, int], out: Path) -> list[str]:
    return [
        "--coldstart-runs",
        str(params["coldstart_runs"]),
        "--load-runs",
        str(params["load_runs"]),
        "--duration",
        str(params["duration"]),
        "--warmup",
        str(params["warmup"]),
        "--out",
        str(out),
    ]


def run_driver(python: str, peer_dir: Path, args: list[str], log: Path) -> None:
    """Raises: RuntimeError when the driver fails (its output is in ``log``)."""
    with open(log, "ab") as out:
        done = subprocess.run(
            [python, str(peer_dir / "bench.py"), "target", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
        )
    if done.returncode != 0:
        raise RuntimeError(f"peer driver exited {done.returncode}; see {log}")


def compare(
    root: Path, python: str, peer_dir: Path, server_args: list[str], params: dict[str, int], work_dir: Path
) -> dict[str, object]:
    """Run both targets; the driver's JSON results and its markdown rows for them."""
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / "peer-driver.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = (
        f"cd {shlex.quote(str(root))} && PYTHONPATH={shlex.quote(str(root))} exec {shlex.quote(python)} "
        f"-m mock_server serve --host 127.0.0.1 --port {port} {shlex.join(server_args)}"
    )
    post_out = work_dir / "vendor-sandbox.json"
    print("  peer driver: JSON POST to QUBS", flush=True)
    run_driver(
        python,
        peer_dir,
        [
            "--name",
            "vendor-sandbox",
            "--label",
            "POST qubs attachments (JSON 201)",
            "--cmd",
            cmd,
            "--health-url",
            base + "/__admin/health",
            "--load-url",
            base + QUBS_CREATE,
            "--load-method",
            "POST",
            "--load-body-file",
            str(REQUEST_FILE),
            "--load-header",
            "Content-Type: application/json",
            "--load-header",
            f"Authorization: Bearer {QUBS_TOKEN}",
            "--log-dir",
            str(work_dir),
            *driver_args(params, post_out),
        ],
        log,
    )

    put_out = work_dir / "vendor-sandbox-s3.json"
    print("  peer driver: presigned PUT of 1 KB", flush=True)
    with Server.launch(root, python, server_args, work_dir / "s3-server.log") as server:
        url = s3_client(server.url + "/s3").generate_presigned_url(
            "put_object",
            Params={"Bucket": BUCKET, "Key": "load/1k.bin"},
            ExpiresIn=7 * 24 * 3600,
            HttpMethod="PUT",
        )
        run_driver(
            python,
            peer_dir,
            [
                "--name",
                "vendor-sandbox-s3",
                "--label",
                "PUT 1 KB object (presigned URL)",
                "--pid",
                str(server.pid),
                "--health-url",
                server.url + "/__admin/health",
                "--load-url",
                url,
                "--load-method",
                "PUT",
                "--load-body-file",
                str(peer_dir / "peers" / "1k.bin"),
                "--log-dir",
                str(work_dir),
                *driver_args({**params, "coldstart_runs": 0}, put_out),
            ],
            log,
        )

    return {"params": params, "driver": str(peer_dir / "bench.py"), "files": [str(post_out), str(put_out)]}


def driver_report(python: str, peer_dir: Path, files: list[str]) -> str:
    """The driver's own markdown tables (median (min–max)) for these result files."""
    done = subprocess.run(
        [python, str(peer_dir / "bench.py"), "report", *files], capture_output=True, text=True, timeout=60
    )
    return done.stdout


# The peers, started exactly as the driver's peers.sh starts them (same ports, flags and requests).
ACME = "/integrations/v1/acme/reporting/appointments/A1/report/attachments"


def peer_targets(peer_dir: Path, peers_dir: Path) -> dict[str, list[str]]:
    """Driver arguments per installed peer (installed by ``peers.sh --install`` under ``peers_dir``)."""
    modules = peers_dir / "node" / "node_modules"
    request = str(peer_dir / "peers" / "attachments-request.json")
    json_post = [
        "--load-method",
        "POST",
        "--load-body-file",
        request,
        "--load-header",
        "Content-Type: application/json",
    ]
    label = ["--label", "POST acme attachments (JSON 201)"]
    targets: dict[str, list[str]] = {}
    jars = sorted((modules / "wiremock" / "build").glob("wiremock-standalone-*.jar"))
    if jars:
        targets["wiremock"] = [
            *label,
            "--cmd",
            f"exec java -jar {jars[0]} --port 8080 --bind-address 127.0.0.1 "
            f"--root-dir {peer_dir / 'peers' / 'wiremock'} --no-request-journal --disable-banner",
            "--health-url",
            "http://127.0.0.1:8080/__admin/health",
            "--load-url",
            f"http://127.0.0.1:8080{ACME}",
            *json_post,
        ]
    if (modules / ".bin" / "prism").exists():
        targets["prism"] = [
            *label,
            "--cmd",
            f"exec {modules / '.bin' / 'prism'} mock -h 127.0.0.1 -p 4010 "
            f"{peer_dir / 'peers' / 'openapi-acme.yaml'}",
            "--health-url",
            f"http://127.0.0.1:4010{ACME}",
            "--health-method",
            "POST",
            "--health-body-file",
            request,
            "--health-header",
            "Content-Type: application/json",
            "--load-url",
            f"http://127.0.0.1:4010{ACME}",
            *json_post,
        ]
    if (modules / ".bin" / "mockoon-cli").exists():
        targets["mockoon"] = [
            *label,
            "--cmd",
            f"exec {modules / '.bin' / 'mockoon-cli'} start -d "
            f"{peer_dir / 'peers' / 'mockoon-acme.json'} -p 3001 -r -X",
            "--health-url",
            f"http://127.0.0.1:3001{ACME}",
            "--health-method",
            "POST",
            "--health-body-file",
            request,
            "--health-header",
            "Content-Type: application/json",
            "--load-url",
            f"http://127.0.0.1:3001{ACME}",
            *json_post,
        ]
    moto = peers_dir / "moto" / "bin" / "moto_server"
    if moto.exists():
        targets["moto_server"] = [
            "--label",
            "PUT 1 KB object (presigned URL)",
            "--cmd",
            f"exec {moto} -H 127.0.0.1 -p 5000",
            "--health-url",
            "http://127.0.0.1:5000/",
            "--s3-endpoint",
            "http://127.0.0.1:5000",
            "--load-presign-put",
            "--load-method",
            "PUT",
            "--load-body-file",
            str(peer_dir / "peers" / "1k.bin"),
            "--upload",
        ]
    return targets


def peer_versions(peers_dir: Path) -> str:
    """Versions of the installed peers, e.g. ``WireMock 3.13.2, Prism 5.14.2, ...``."""
    modules = peers_dir / "node" / "node_modules"
    found = []
    for label, package in (
        ("WireMock", "wiremock"),
        ("Prism", "@stoplight/prism-cli"),
        ("Mockoon CLI", "@mockoon/cli"),
    ):
        try:
            found.append(f"{label} {json.loads((modules / package / 'package.json').read_text())['version']}")
        except (OSError, ValueError, KeyError):
            pass
    moto_python = peers_dir / "moto" / "bin" / "python"
    if moto_python.exists():
        done = subprocess.run(
            [str(moto_python), "-c", "import moto; print(moto.__version__)"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        found.append(f"moto_server {done.stdout.strip()}")
    return ", ".join(found)


def rerun_peers(
    python: str,
    peer_dir: Path,
    peers_dir: Path,
    params: dict[str, int],
    work_dir: Path,
    upload_counts: list[str],
) -> list[str]:
    """Measure every installed peer now, with ``params``; the driver's result files (missing peers skipped).

    Raises: RuntimeError when a peer run fails.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / "peer-driver.log"
    files = []
    for name, args in peer_targets(peer_dir, peers_dir).items():
        print(f"  peer driver: {name}", flush=True)
        out = work_dir / f"{name}.json"
        extra = upload_counts if name == "moto_server" else []
        run_driver(
            python,
            peer_dir,
            ["--name", name, *args, *extra, "--log-dir", str(work_dir), *driver_args(params, out)],
            log,
        )
        files.append(str(out))
    return files


def peer_tables(results_md: str) -> list[list[str]]:
    """The markdown tables of RESULTS-peers.md, each as its lines (header and separator included)."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in results_md.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


UPLOAD_HEADER = (
    "| server | 2 MB PUT MB/s | 25 MB PUT MB/s | 8×25 MB aggregate MB/s | RSS before MB | peak RSS MB | "
    "peak − before MB | tampered sig | swapped key |"
)


def _bold(row: str) -> str:
    return re.sub(r"^\| (vendor-sandbox[\w-]*) \|", r"| **\1** |", row)


def merged_tables(peer_md: str, ours_md: str, extra_upload_row: str | None) -> list[list[str]]:
    """Each peer table with our rows (same header) appended; the upload table gets ``extra_upload_row``."""
    ours = {table[0]: table[2:] for table in peer_tables(ours_md)}
    merged = []
    upload_placed = False
    for table in peer_tables(peer_md):
        rows = [_bold(row) for row in (*table, *ours.get(table[0], []))]
        if extra_upload_row and "2 MB PUT MB/s" in table[0]:
            rows.append(extra_upload_row)
            upload_placed = True
        merged.append(rows)
    if extra_upload_row and not upload_placed:
        merged.append([UPLOAD_HEADER, "|---" * 9 + "|", extra_upload_row])
    return merged
