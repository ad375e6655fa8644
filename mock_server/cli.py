"""``mock-server serve|validate|version``.

Every ``serve`` flag also reads a ``MOCK_SERVER_*`` environment variable (flags win), so the same
settings work on a laptop, in docker and as a CI service container.
Exit codes: 0 success (including a stop by SIGTERM/SIGINT), 1 invalid input (fixtures, scenarios,
settings) or the port cannot be bound, 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import uvicorn

from mock_server import __version__, logs
from mock_server.core.vendor import Vendor
from mock_server.settings import OPTIONS, Settings
from mock_server.transport import uvicorn_config


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    for option in OPTIONS:
        parser.add_argument(
            option.flag, dest=option.name, type=option.parse, default=None,
            help=f"{option.help} [env: {option.env}]",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mock-server",
        description="vendor-sandbox: offline emulation of QUBS, Decoda Health, SaferMe and Candid Health "
        "attachment APIs on an embedded, verifying S3.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the sandbox server")
    _add_serve_options(serve)
    validate = commands.add_parser(
        "validate", help="check scenario and fixture files; exit 1 if any is invalid"
    )
    validate.add_argument(
        "files", nargs="+", type=Path, help="scenario (or fixture, with --fixtures) YAML files"
    )
    validate.add_argument("--fixtures", action="store_true", help="validate the files as fixture files")
    commands.add_parser("version", help="print the version")
    return parser


def settings_from(args: argparse.Namespace, environ: dict[str, str]) -> Settings:
    settings = Settings.from_env(environ)
    overrides = {o.name: getattr(args, o.name) for o in OPTIONS if getattr(args, o.name, None) is not None}
    return settings.replace(**overrides)


def display_base(settings: Settings, port: int) -> str:
    """Where a person on this machine reaches the server (a wildcard bind is shown as loopback)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(settings.host, settings.host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def storage_credentials(settings: Settings, buckets: Sequence[str]) -> list[str]:
    """The S3 signing credentials; a secret given through the environment is never echoed."""
    secret = settings.s3_secret_access_key
    hidden = "(set by MOCK_SERVER_S3_SECRET_ACCESS_KEY)"
    shown = secret if secret == Settings().s3_secret_access_key else hidden
    lines = [f"S3 access key {settings.s3_access_key_id} / secret {shown}, region {settings.s3_region}, "
             "SigV4, path-style addressing"]
    if buckets:
        lines.append(f"bucket(s) for your own presigned URLs: {', '.join(buckets)}")
    return lines


def describe(
    settings: Settings, port: int, vendors: Mapping[str, Vendor], buckets: Sequence[str] = ()
) -> dict[str, Any]:
    """What the banner shows, as data (the JSON log format prints this)."""
    base = display_base(settings, port)
    listed = []
    # The emulated vendors first, in mount order; the embedded S3 they upload to last.
    for name, vendor in sorted(vendors.items(), key=lambda item: item[0] == "storage"):
        listed.append({
            "name": name,
            "title": vendor.title,
            "baseUrls": [base + prefix for prefix in vendor.mount_table()],
            "openapi": f"{base}{vendor.prefix}/openapi.json" if vendor.openapi_path else None,
            "credentials": (storage_credentials(settings, buckets) if name == "storage"
                            else list(vendor.credentials)),
        })
    return {
        "version": __version__,
        "listen": f"{settings.host}:{port}",
        "url": base,
        "vendors": listed,
        "rootVendor": settings.root_vendor,
        "admin": f"{base}/__admin/",
        "adminOpenapi": f"{base}/__admin/openapi.json",
        "index": f"{base}/",
        "shutdownGraceSeconds": settings.shutdown_grace,
    }


def banner(settings: Settings, port: int, vendors: Mapping[str, Vendor], buckets: Sequence[str] = ()) -> str:
    info = describe(settings, port, vendors, buckets)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    lines = [f"vendor-sandbox {__version__} listening on http://{host}:{port}"]
    if not settings.public_url:
        lines.append("  generated URLs use the scheme and Host of each request (no --public-url set)")
    for vendor in info["vendors"]:
        lines.append(f"  {vendor['name']:<8} {', '.join(vendor['baseUrls'])}   {vendor['title']}")
        if vendor["openapi"]:
            lines.append(f"           openapi {vendor['openapi']}")
        lines += [f"           {credential}" for credential in vendor["credentials"]]
    if settings.root_vendor:
        lines.append(f"  root     {info['index']} also serves {settings.root_vendor}")
    lines.append(f"  admin    {info['admin']}  (health, reset, clock, requests, objects, fixtures, "
                 f"vendors, scenarios; contract {info['adminOpenapi']})")
    lines.append(f"  index    {info['index']}")
    grace = settings.shutdown_grace
    lines.append(f"stop with Ctrl+C or SIGTERM: in-flight requests get {grace:g}s to finish")
    return "\n".join(lines)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    # Listening before uvicorn takes over queues early connections instead of refusing them.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class SandboxServer(uvicorn.Server):
    """uvicorn's server, saying when it stops taking connections and how long it waits for the rest."""

    def __init__(self, config: uvicorn.Config, settings: Settings) -> None:
        super().__init__(config)
        self.settings = settings

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Stop listening first (uvicorn's shutdown does it again, harmlessly), so the message below is
        # true when it appears: new connections are refused, open ones finish within the grace period.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        reason = ", ".join(signal.Signals(number).name for number in self._captured_signals) or "exit"
        open_connections = len(self.server_state.connections)
        logs.emit(self.settings.log_format,
                  f"mock-server: stopping ({reason}): no new connections; {open_connections} open "
                  f"connection(s) get up to {self.settings.shutdown_grace:g}s to finish",
                  event="stopping", signal=reason, openConnections=open_connections,
                  graceSeconds=self.settings.shutdown_grace)
        await super().shutdown(sockets)


def invalid_setting(settings: Settings) -> str | None:
    if settings.log_format not in logs.FORMATS:
        return f"log format {settings.log_format!r} is not one of {', '.join(logs.FORMATS)}"
    if settings.log_level.lower() not in logs.LEVELS:
        return f"log level {settings.log_level!r} is not one of {', '.join(logs.LEVELS)}"
    return None


def serve(settings: Settings) -> int:
    from mock_server.app import create_app
    from mock_server.core.fixtures import FixtureError

    problem = invalid_setting(settings)
    if problem:
        print(f"mock-server: cannot start: {problem}", file=sys.stderr)
        return 1
    logs.configure(settings.log_format, settings.log_level)
    try:
        app = create_app(settings)
    except (FixtureError, ValueError) as exc:
        print(f"mock-server: cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        sock = bind_socket(settings.host, settings.port)
    except OSError as exc:
        print(f"mock-server: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}",
              file=sys.stderr)
        app.state.sandbox.close()
        return 1
    port = sock.getsockname()[1]
    sandbox = app.state.sandbox
    buckets = list(sandbox.fixtures.get("storage", {}).get("buckets", []))
    logs.emit(settings.log_format, banner(settings, port, sandbox.vendors, buckets), event="started",
              **describe(settings, port, sandbox.vendors, buckets))
    config = uvicorn_config(app, settings)
    # uvicorn drains in-flight requests on SIGTERM/SIGINT (a second SIGINT stops at once), then
    # re-raises the signal against the handlers installed before it; these no-ops turn a graceful
    # stop into exit code 0.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: None)
    SandboxServer(config, settings).run(sockets=[sock])
    # Stopped: a further signal (docker or a CI runner repeating SIGTERM) must not turn this clean
    # exit into a kill while the interpreter finalises (it resets Python-level handlers, not SIG_IGN).
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, signal.SIG_IGN)
    logs.emit(settings.log_format, "mock-server: stopped", event="stopped")
    return 0


def validate(files: Sequence[Path], as_fixtures: bool) -> int:
    from mock_server.app import available_vendors
    from mock_server.core.fixtures import FixtureError, load_fixtures

    failures = 0
    for file in files:
        try:
            if as_fixtures:
                schemas = {n: v.fixtures_schema or {"type": "object"} for n, v in available_vendors().items()}
                load_fixtures([file], schemas)
            else:
                from mock_server.scenarios.model import load_scenario_file

                load_scenario_file(file)
        except (FixtureError, ValueError, OSError) as exc:
            failures += 1
            print(f"invalid: {exc}", file=sys.stderr)
        else:
            print(f"ok: {file}")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(__version__)
        return 0
    if args.command == "validate":
        return validate(args.files, args.fixtures)
    return serve(settings_from(args, dict(os.environ)))
