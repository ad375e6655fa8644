"""``mock-server serve|validate|version`` (click; the options come from ``Settings``' fields).

Every ``serve`` flag also reads a ``MOCK_SERVER_*`` environment variable (flags win), so the same
settings work on a laptop, in docker and as a CI service container.
Exit codes: 0 success (including a stop by SIGTERM/SIGINT), 1 invalid input (fixtures, scenarios) or
the port cannot be bound, 2 usage error or a setting that cannot be used (one line on stderr).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import uvicorn

from mock_server import __version__, logs
from mock_server.core import gc_policy
from mock_server.core.vendor import Vendor
from mock_server.settings import OPTIONS, Option, SettingError, Settings
from mock_server.transport import uvicorn_config


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
    lines = [
        f"S3 access key {settings.s3_access_key_id} / secret {shown}, region {settings.s3_region}, "
        "SigV4, path-style addressing"
    ]
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
        listed.append(
            {
                "name": name,
                "title": vendor.title,
                "baseUrls": [base + prefix for prefix in vendor.mount_table()],
                "openapi": f"{base}{vendor.prefix}/openapi.json" if vendor.openapi_path else None,
                "credentials": (
                    storage_credentials(settings, buckets) if name == "storage" else list(vendor.credentials)
                ),
            }
        )
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
    lines.append(
        f"  admin    {info['admin']}  (health, reset, clock, requests, objects, fixtures, "
        f"vendors, scenarios; contract {info['adminOpenapi']})"
    )
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
    """uvicorn's server, saying when it stops taking connections and how long it waits for the rest,
    and warming the vendors up (``Vendor.warm_up``) once its first request has been answered."""

    def __init__(
        self,
        config: uvicorn.Config,
        settings: Settings,
        warm_ups: Sequence[Callable[[], object]] = (),
        parent: int | None = None,
    ) -> None:
        """``parent``: the supervisor's pid when this is a ``--workers`` worker (it stops when orphaned)."""
        super().__init__(config)
        self.settings = settings
        self.warm_ups = list(warm_ups)
        self.parent = parent
        self.stopped_early = False

    def stop_before_start(self, number: int, _frame: object) -> None:
        """Signal handler until uvicorn installs its own: remember the stop for the first tick."""
        self.stopped_early = True

    async def on_tick(self, counter: int) -> bool:
        # A worker whose supervisor is gone (killed with SIGKILL, say) stops as if told to, instead of
        # serving on unsupervised and keeping the port and its output pipes open.
        if self.stopped_early or (self.parent is not None and os.getppid() != self.parent):
            self.should_exit = True
        # Every 0.1 s: once a request (a health probe, as a rule) has been answered and none is in
        # flight, load in the background what the vendors' first requests would otherwise load.
        if self.warm_ups and self.server_state.total_requests and not self.server_state.tasks:
            warm_ups, self.warm_ups = self.warm_ups, []
            threading.Thread(target=warm_up, args=(warm_ups,), name="warm-up", daemon=True).start()
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Stop listening first (uvicorn's shutdown does it again, harmlessly), so the message below is
        # true when it appears: new connections are refused, open ones finish within the grace period.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        reason = ", ".join(signal.Signals(number).name for number in self._captured_signals) or "exit"
        open_connections = len(self.server_state.connections)
        logs.emit(
            self.settings.log_format,
            f"mock-server: stopping ({reason}): no new connections; {open_connections} open "
            f"connection(s) get up to {self.settings.shutdown_grace:g}s to finish",
            event="stopping",
            signal=reason,
            openConnections=open_connections,
            graceSeconds=self.settings.shutdown_grace,
        )
        await super().shutdown(sockets)


def warm_up(steps: Sequence[Callable[[], object]]) -> None:
    """Run each vendor's ``warm_up``; a failure is logged, never raised (the request that needs the
    library then loads it, and reports any error, itself)."""
    for step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 - best effort by design
            logging.getLogger("mock_server").debug("warm-up step %r failed", step, exc_info=True)


def serve(settings: Settings) -> int:
    from mock_server.app import create_app
    from mock_server.core.fixtures import FixtureError

    logs.configure(settings.log_format, settings.log_level)
    if settings.workers > 1 and not settings.state_url:
        print(
            "mock-server: cannot start: --workers (MOCK_SERVER_WORKERS) above 1 needs --state-url "
            "(MOCK_SERVER_STATE_URL): each worker is a process, and they share the sandbox through Redis",
            file=sys.stderr,
        )
        return 2
    try:
        app = create_app(settings)
    except (FixtureError, ValueError) as exc:
        # One problem: one line; several: a line each, as `mock-server validate` prints them.
        problems = str(exc).splitlines() or [type(exc).__name__]
        head = "mock-server: cannot start:" + (f" {problems[0]}" if len(problems) == 1 else "")
        print("\n".join([head, *problems[1 if len(problems) == 1 else 0 :]]), file=sys.stderr)
        return 1
    try:
        sock = bind_socket(settings.host, settings.port)
    except OSError as exc:
        print(
            f"mock-server: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        app.state.sandbox.close()
        return 1
    port = sock.getsockname()[1]
    sandbox = app.state.sandbox
    buckets = list(sandbox.fixtures.get("storage", {}).get("buckets", []))
    logs.emit(
        settings.log_format,
        banner(settings, port, sandbox.vendors, buckets),
        event="started",
        **describe(settings, port, sandbox.vendors, buckets),
    )
    if settings.workers > 1:
        from mock_server.workers import Supervisor

        # The parent only supervises: its app was the start-up check (and filled the shared state).
        app.state.sessions.close()
        sandbox.close()
        from mock_server.core.shared import disconnect_clients

        disconnect_clients()  # each worker opens its own connections
        parent = os.getpid()
        code = Supervisor(
            settings, sock, lambda: _serve_app(create_app(settings), settings, sock, parent)
        ).run()
    else:
        code = _serve_app(app, settings, sock)
    if code == 0:
        logs.emit(settings.log_format, "mock-server: stopped", event="stopped")
    return code


def _serve_app(app: Any, settings: Settings, sock: socket.socket, parent: int | None = None) -> int:
    """Serve ``app`` on ``sock`` until SIGTERM/SIGINT (in-flight requests drained), or, for a worker
    (``parent``: its supervisor's pid), until the supervisor is gone. Returns 0."""
    sandbox = app.state.sandbox
    # Everything built so far lives as long as the process: keep full collections from walking it.
    gc_policy.install(sandbox.clock)
    config = uvicorn_config(app, settings)
    from mock_server.core.openapi import import_jsonschema

    warm_ups = [vendor.warm_up for vendor in sandbox.vendors.values() if vendor.warm_up is not None]
    warm_ups.insert(0, import_jsonschema)
    server = SandboxServer(config, settings, warm_ups, parent)
    # uvicorn drains in-flight requests on SIGTERM/SIGINT (a second SIGINT stops at once), then
    # re-raises the signal against the handlers installed before it; these turn a graceful stop into
    # exit code 0, and a signal that arrives before uvicorn listens for it (a worker told to stop while
    # it starts) into a stop at its first tick.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, server.stop_before_start)
    server.run(sockets=[sock])
    # Stopped: a further signal (docker or a CI runner repeating SIGTERM) must not turn this clean
    # exit into a kill while the interpreter finalises (it resets Python-level handlers, not SIG_IGN).
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, signal.SIG_IGN)
    return 0


def validate(paths: Sequence[Path], as_fixtures: bool) -> int:
    """Check scenario (or fixture) files and folders; print every problem as ``file:line: path: reason``."""
    from mock_server.app import available_vendors
    from mock_server.core.fixtures import FixtureError, load_fixtures

    vendors = available_vendors()
    if as_fixtures:
        schemas = {n: v.fixtures_schema or {"type": "object"} for n, v in vendors.items()}
        try:
            load_fixtures(paths, schemas, {name: vendor.fixture_rules for name, vendor in vendors.items()})
        except FixtureError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"ok: {', '.join(map(str, paths))}")
        return 0
    from mock_server.scenarios.catalog import Catalog
    from mock_server.scenarios.model import ScenarioError, load_scenario_file, scenario_files

    catalog = Catalog.of(vendors)
    failures = 0
    try:
        files = scenario_files(paths)
    except ScenarioError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return 1
    if not files:
        print(
            f"invalid: {', '.join(map(str, paths))}: no scenario files (*.yaml, *.yml, *.json)",
            file=sys.stderr,
        )
        return 1
    for file in files:
        try:
            load_scenario_file(file, catalog)
        except ScenarioError as exc:
            failures += 1
            print(exc, file=sys.stderr)
        else:
            print(f"ok: {file}")
    return 1 if failures else 0


def _flag(option: Option) -> Any:
    """The click option of one setting: flag, variable, type (parses and validates), default and help."""
    default = option.default if option.shown_default is None else None
    shown: bool | str = True if option.shown_default is None else option.shown_default
    if isinstance(default, bool):
        default, shown = None, str(default).lower()
    return click.option(
        option.flag,
        option.name,
        type=option.type,
        envvar=option.env,
        show_envvar=True,
        default=default,
        show_default=shown,
        help=option.help,
    )


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110, "terminal_width": 110}


@click.group(
    context_settings=CONTEXT,
    help=(
        "vendor-sandbox: offline emulation of QUBS, Decoda Health, SaferMe and Candid Health attachment APIs "
        "on an embedded, verifying S3."
    ),
)
@click.version_option(__version__, "--version", prog_name="mock-server", message="%(version)s")
def cli() -> None:
    pass


def _serve_command(**values: Any) -> None:
    settings = Settings(**{name: value for name, value in values.items() if value is not None})
    raise SystemExit(serve(settings))


serve_command = click.Command(
    "serve",
    callback=_serve_command,
    params=[],
    context_settings=CONTEXT,
    help="Start the sandbox server. Every option also reads its MOCK_SERVER_* variable (the flag wins).",
)
for _option in OPTIONS:
    _flag(_option)(serve_command)
cli.add_command(serve_command)


@cli.command("validate", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--fixtures", "as_fixtures", is_flag=True, help="check the files as fixture files")
def _validate_command(paths: tuple[Path, ...], as_fixtures: bool) -> None:
    """Check scenario files or folders (as `serve --scenarios` reads them); exit 1 if any is invalid."""
    raise SystemExit(validate(paths, as_fixtures))


@cli.command("version", context_settings=CONTEXT)
def _version_command() -> None:
    """Print the version."""
    click.echo(__version__)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code. Usage errors are one line on stderr and exit code 2."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None, prog_name="mock-server", standalone_mode=False
        )
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "mock-server"
        print(f"{command}: error: {exc.format_message()} (see {command} --help)", file=sys.stderr)
        return exc.exit_code
    except click.ClickException as exc:
        print(f"mock-server: error: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    except click.Abort:
        return 1
    except SettingError as exc:
        print(f"mock-server: error: {exc}", file=sys.stderr)
        return 2
    return 0
