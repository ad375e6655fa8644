"""``mock-server serve|validate|version``.

Every ``serve`` flag also reads a ``MOCK_SERVER_*`` environment variable (flags win), so the same
settings work on a laptop, in docker and as a CI service container.
Exit codes: 0 success, 1 invalid input (fixtures, scenarios, settings), 2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from mock_server import __version__
from mock_server.settings import OPTIONS, Settings


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
    validate = commands.add_parser("validate", help="check scenario and fixture files; exit 1 if any is invalid")
    validate.add_argument("files", nargs="+", type=Path, help="scenario (or fixture, with --fixtures) YAML files")
    validate.add_argument("--fixtures", action="store_true", help="validate the files as fixture files")
    commands.add_parser("version", help="print the version")
    return parser


def settings_from(args: argparse.Namespace, environ: dict[str, str]) -> Settings:
    settings = Settings.from_env(environ)
    overrides = {o.name: getattr(args, o.name) for o in OPTIONS if getattr(args, o.name, None) is not None}
    return settings.replace(**overrides)


def configure_logging(settings: Settings) -> None:
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s" if settings.log_format == "json"
                                           else "%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("mock_server")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def banner(settings: Settings, port: int, vendors: dict[str, object]) -> str:
    base = settings.public_url or f"http://{settings.host}:{port}"
    lines = [f"vendor-sandbox {__version__} listening on http://{settings.host}:{port}"]
    for name, vendor in vendors.items():
        mounts = ", ".join(base + prefix for prefix in vendor.mount_table())  # type: ignore[attr-defined]
        lines.append(f"  {name:<8} {mounts}")
        for credential in getattr(vendor, "credentials", ()):
            lines.append(f"           {credential}")
    if settings.root_vendor:
        lines.append(f"  root     {base}/ serves {settings.root_vendor}")
    lines.append(f"  admin    {base}/__admin/health  (reset, clock, requests, objects, scenarios)")
    return "\n".join(lines)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening before uvicorn takes over queues early connections instead of refusing them.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings) -> int:
    import uvicorn

    from mock_server.app import create_app
    from mock_server.core.fixtures import FixtureError

    configure_logging(settings)
    try:
        app = create_app(settings)
    except (FixtureError, ValueError) as exc:
        print(f"mock-server: cannot start: {exc}", file=sys.stderr)
        return 1
    sock = bind_socket(settings.host, settings.port)
    port = sock.getsockname()[1]
    print(banner(settings, port, app.state.sandbox.vendors), file=sys.stderr, flush=True)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", proxy_headers=True,
        forwarded_allow_ips="*", timeout_graceful_shutdown=settings.shutdown_grace,
    )
    # uvicorn drains in-flight requests on SIGTERM/SIGINT, then re-raises the signal against the
    # handlers that were installed before it; these no-ops turn a graceful stop into exit code 0.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: None)
    uvicorn.Server(config).run(sockets=[sock])
    print("mock-server: stopped", file=sys.stderr, flush=True)
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
