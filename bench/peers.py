"""The peer servers (WireMock, Prism, Mockoon, moto_server), the sandbox and the framework's ceiling,
each started and measured by the shared peer driver (``bench.py target``), which is called where it
lives (``--peer-bench DIR``), never copied.

The peers are installed as the driver's ``peers.sh --install`` installs them (``install``): Debian's
``wrk``, ``moto[server]`` from PyPI in a venv at ``PEERS_DIR/moto``, and the npm packages ``wiremock``
(its standalone jar, run on Debian's Java), ``@stoplight/prism-cli`` and ``@mockoon/cli`` at
``PEERS_DIR/node``. Each target here gets the command, flags and health request peers.sh gives it, on a
free port instead of peers.sh's fixed ones (the machine may be running other servers).

The peers answer a canned body: WireMock (``peers/wiremock/mappings``), Prism (the example in
``peers/openapi-acme.yaml``, after validating the request against that document) and Mockoon send the
same fixed one-item 201 whatever the request holds. They get the same request shapes as the sandbox:
the driver's ``peers/attachments-request.json`` (one item, ``files``) and
bench/data/peers-attachments-request-20.json (the same item 20 times); the sandbox gets the same
bodies in QUBS's shape (``items``, bench/data/qubs-attachments-request*.json).
"""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from bench.workloads import QUBS_CREATE, QUBS_TOKEN

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SANDBOX_REQUESTS = {1: DATA / "qubs-attachments-request.json", 20: DATA / "qubs-attachments-request-20.json"}
PEER_REQUEST_20 = DATA / "peers-attachments-request-20.json"
ACME = "/integrations/v1/acme/reporting/appointments/A1/report/attachments"
JSON = "Content-Type: application/json"
PEERS = ("prism", "wiremock", "mockoon", "moto_server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    """True while something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --------------------------------------------------------------------------------- install
def installed(peers_dir: Path) -> dict[str, bool]:
    modules = peers_dir / "node" / "node_modules"
    return {
        "wrk": shutil.which("wrk") is not None,
        "java": shutil.which("java") is not None,
        "wiremock": bool(sorted((modules / "wiremock" / "build").glob("wiremock-standalone-*.jar"))),
        "prism": (modules / ".bin" / "prism").exists(),
        "mockoon": (modules / ".bin" / "mockoon-cli").exists(),
        "moto_server": (peers_dir / "moto" / "bin" / "moto_server").exists(),
    }


def install(peers_dir: Path, log: Path) -> dict[str, float]:
    """What ``peers.sh --install`` does, for the pieces that are missing: seconds per step.

    Raises: RuntimeError when a step fails (its output is in ``log``).
    """
    have = installed(peers_dir)
    steps: list[tuple[str, list[str], Path | None]] = []
    if not have["wrk"] or not have["java"]:
        steps.append(("apt-get update", ["apt-get", "update", "-qq"], None))
        steps.append(
            (
                "apt-get install wrk java",
                ["apt-get", "install", "-y", "-qq", "wrk", "default-jre-headless"],
                None,
            )
        )
    if not have["moto_server"]:
        venv = peers_dir / "moto"
        steps.append(("python -m venv moto", ["python3", "-m", "venv", str(venv)], None))
        steps.append(
            (
                "pip install moto[server]",
                [str(venv / "bin" / "pip"), "install", "-q", "moto[server]", "boto3", "requests"],
                None,
            )
        )
    if not (have["wiremock"] and have["prism"] and have["mockoon"]):
        node = peers_dir / "node"
        node.mkdir(parents=True, exist_ok=True)
        if not (node / "package.json").exists():
            steps.append(("npm init", ["npm", "init", "-y"], node))
        steps.append(
            (
                "npm install wiremock prism-cli mockoon-cli",
                [
                    "npm",
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "wiremock",
                    "@stoplight/prism-cli",
                    "@mockoon/cli",
                ],
                node,
            )
        )
    seconds: dict[str, float] = {}
    peers_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        for label, cmd, cwd in steps:
            print(f"  install: {label}", flush=True)
            started = time.perf_counter()
            done = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=1800)
            seconds[label] = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"{label} exited {done.returncode}; see {log}")
    return seconds


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
    java = (
        subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=60)
        if shutil.which("java")
        else None
    )
    if java is not None and java.stderr:
        found.append(java.stderr.splitlines()[0].replace('"', ""))
    if shutil.which("node"):
        found.append(
            "node "
            + subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
        )
    return ", ".join(found)


# --------------------------------------------------------------------------------- the driver
def run_driver(
    python: str, peer_dir: Path, args: list[str], log: Path, cwd: Path, timeout: float = 900
) -> None:
    """``bench.py target ARGS``, output to ``log``. On a timeout the driver gets SIGINT first, so its own
    ``finally`` stops the server it started (a SIGKILL would leave that server running).

    Raises: RuntimeError when the driver fails.
    """
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [python, str(peer_dir / "bench.py"), "target", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            raise RuntimeError(f"peer driver timed out after {timeout:.0f} s; see {log}") from None
    if code != 0:
        raise RuntimeError(f"peer driver exited {code}; see {log}")


def driver_params(coldstart_runs: int, load_runs: int, duration: int, warmup: int, out: Path) -> list[str]:
    return [
        "--coldstart-runs",
        str(coldstart_runs),
        "--load-runs",
        str(load_runs),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--out",
        str(out),
    ]


def _json_post(url: str, body: Path, extra: tuple[str, ...] = ()) -> list[str]:
    return [
        "--load-url",
        url,
        "--load-method",
        "POST",
        "--load-body-file",
        str(body),
        "--load-header",
        JSON,
        *extra,
    ]


def _post_health(url: str, body: Path) -> list[str]:
    return [
        "--health-url",
        url,
        "--health-method",
        "POST",
        "--health-body-file",
        str(body),
        "--health-header",
        JSON,
    ]


def sandbox_target(root: Path, python: str, server_args: list[str], items: int | None) -> list[str]:
    """The sandbox as ``mock_server serve``; with ``items``, loaded with QUBS create (that many items)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # A variant over shared state (`--state-url {redis}`) starts each launch in a namespace of its own.
    fresh = f"bench-{uuid.uuid4().hex[:12]}"
    server_args = [arg.replace("{namespace}", fresh) for arg in server_args]
    cmd = (
        f"cd {shlex.quote(str(root))} && PYTHONPATH={shlex.quote(str(root))} exec {shlex.quote(python)} "
        f"-m mock_server serve --host 127.0.0.1 --port {port} {shlex.join(server_args)}"
    )
    args = ["--cmd", cmd, "--health-url", base + "/__admin/health"]
    if items:
        auth = ("--load-header", f"Authorization: Bearer {QUBS_TOKEN}")
        args += _json_post(base + QUBS_CREATE, SANDBOX_REQUESTS[items], auth)
    return args


def ceiling_target(python: str, items: int) -> list[str]:
    """bench/ceiling.py (one Starlette route, the sandbox's uvicorn settings), sent the sandbox's body."""
    port = free_port()
    cmd = f"exec {shlex.quote(python)} {shlex.quote(str(HERE / 'ceiling.py'))} --port {port}"
    url = f"http://127.0.0.1:{port}/ceiling"
    return ["--cmd", cmd, "--health-url", url, *_json_post(url, SANDBOX_REQUESTS[items])]


def peer_target(name: str, peer_dir: Path, peers_dir: Path, items: int | None) -> list[str] | None:
    """Driver arguments for one installed peer as peers.sh starts it (None when it is not installed).

    WireMock, Prism and Mockoon are loaded with the JSON POST (``items`` files); moto_server is started
    for its cold start and the driver's upload phase (``--upload``), with no wrk load.
    """
    modules = peers_dir / "node" / "node_modules"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    body = peer_dir / "peers" / "attachments-request.json" if items in (None, 1) else PEER_REQUEST_20
    load = _json_post(base + ACME, body) if items else []
    if name == "wiremock":
        jars = sorted((modules / "wiremock" / "build").glob("wiremock-standalone-*.jar"))
        if not jars:
            return None
        cmd = (
            f"exec java -jar {jars[0]} --port {port} --bind-address 127.0.0.1 "
            f"--root-dir {peer_dir / 'peers' / 'wiremock'} --no-request-journal --disable-banner"
        )
        return ["--cmd", cmd, "--health-url", base + "/__admin/health", *load]
    if name == "prism":
        prism = modules / ".bin" / "prism"
        if not prism.exists():
            return None
        cmd = f"exec {prism} mock -h 127.0.0.1 -p {port} {peer_dir / 'peers' / 'openapi-acme.yaml'}"
        return ["--cmd", cmd, *_post_health(base + ACME, body), *load]
    if name == "mockoon":
        mockoon = modules / ".bin" / "mockoon-cli"
        if not mockoon.exists():
            return None
        cmd = f"exec {mockoon} start -d {peer_dir / 'peers' / 'mockoon-acme.json'} -p {port} -r -X"
        return ["--cmd", cmd, *_post_health(base + ACME, body), *load]
    if name == "moto_server":
        moto = peers_dir / "moto" / "bin" / "moto_server"
        if not moto.exists():
            return None
        return [
            "--cmd",
            f"exec {moto} -H 127.0.0.1 -p {port}",
            "--health-url",
            base + "/",
            "--s3-endpoint",
            base,
            "--upload",
        ]
    raise ValueError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")


def ports_of(args: list[str]) -> list[int]:
    """The 127.0.0.1 ports named in a target's URLs (to check they are free after the run)."""
    found = set()
    for arg in args:
        for word in arg.split():
            if word.startswith("http://127.0.0.1:"):
                found.add(int(word.split(":")[2].split("/")[0]))
    return sorted(found)


def read_result(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
