"""``create_app(settings)``: the whole URL map on one screen.

/__admin/...          admin API (health, reset, clock, requests, objects, fixtures, scenarios, sessions)
/~s/<session>/...     all of the above, served by an isolated session (mock_server.core.sessions)
/qubs/...             QUBS integrations API          (mock_server.vendors.qubs)
/decoda/...           Decoda Health attachments      (mock_server.vendors.decoda)
/saferme/...          SaferMe Report API v4          (mock_server.vendors.saferme)
/candid/...           Candid Health attachments      (mock_server.vendors.candid)
/s3/{bucket}/{key}    embedded S3: presigned PUT/GET, POST policy form
/gcs/{bucket}/{key}   GCS-style signed downloads
/                     index of the above (and, with --root-vendor, that vendor's routes)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import importlib
import json
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route

from mock_server.admin.guard import AdminGuard
from mock_server.admin.routes import http_error, index_routes
from mock_server.admin.routes import routes as admin_routes
from mock_server.boundary import VendorApp, dotall
from mock_server.core.clock import Clock
from mock_server.core.fixtures import FixtureError, load_fixtures
from mock_server.core.idempotency import IdempotencyStore
from mock_server.core.ids import Ids, SharedIds
from mock_server.core.journal import Journal
from mock_server.core.routing import WalkedRouter
from mock_server.core.sandbox import Sandbox, ScenarioEngine
from mock_server.core.sessions import DEFAULT_SESSION, PATH_MARK, SessionRegistry, SessionSpec
from mock_server.core.store import Store
from mock_server.core.vendor import Vendor
from mock_server.cors_middleware import CorsMiddleware
from mock_server.header_guard import oversized_headers
from mock_server.middleware import SandboxMiddleware
from mock_server.session_middleware import SessionMiddleware
from mock_server.settings import Settings
from mock_server.state_guard import StateOutageGuard
from mock_server.storage import s3_api
from mock_server.storage.s3 import ObjectStore
from mock_server.storage.service import Storage
from mock_server.storage.sigv4 import SigningCredentials
from mock_server.vendors import available_vendors


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    vendors = available_vendors()
    if settings.root_vendor and settings.root_vendor not in vendors:
        raise ValueError(f"--root-vendor {settings.root_vendor!r} is not one of {', '.join(vendors)}")
    sandbox = build_sandbox(settings, vendors)

    routes: list[BaseRoute] = [Mount("/__admin", routes=admin_routes)]
    # S3 clients given endpoint_url=<sandbox>/s3 send ListBuckets to "/s3" itself, not "/s3/".
    root = s3_api.service_root
    routes.append(Route(root.path, VendorApp(vendors["storage"], [root]), name=root.name))
    for vendor in vendors.values():
        for prefix, vendor_routes in vendor.mount_table().items():
            routes.append(dotall(Mount(prefix, app=VendorApp(vendor, vendor_routes))))
    routes += index_routes
    if settings.root_vendor:
        root = vendors[settings.root_vendor]
        routes.append(dotall(Mount("", app=VendorApp(root, root.routes))))

    sessions = _session_registry(sandbox)
    app = Starlette(
        middleware=[
            # Over shared state: a Redis outage answers 503 in the vendor's format (state_guard.py).
            *([Middleware(StateOutageGuard, sandbox=sandbox)] if sandbox.shared is not None else []),
            Middleware(SessionMiddleware, sessions=sessions),
            Middleware(CorsMiddleware, sandbox=sandbox),
            Middleware(SandboxMiddleware, sandbox=sandbox, routes=routes, guard=oversized_headers),
            Middleware(AdminGuard, sandbox=sandbox),
        ],
        exception_handlers={HTTPException: http_error},
    )
    # the routes matched once per request, by the sandbox middleware (core/routing.py)
    app.router = WalkedRouter(routes, lifespan=_lifespan if sandbox.shared is not None else None)
    app.state.sandbox = sandbox
    app.state.sessions = sessions
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    """Over shared state, the server's event loop gets a Redis connection of its own for the
    per-request round trips (core/shared_commit.py), closed when the server stops."""
    committer = app.state.sandbox.shared.committer
    loop = asyncio.get_running_loop()
    committer.serve_on(loop)
    try:
        yield
    finally:
        await committer.close_on(loop)


def build_sandbox(
    settings: Settings,
    vendors: dict[str, Vendor],
    fixture_data: dict[str, dict[str, Any]] | None = None,
    name: str = DEFAULT_SESSION,
    template: ScenarioEngine | None = None,
) -> Sandbox:
    """All state of one app (or one session): core services, its own embedded S3 (its own moto account)
    with the vendors' buckets, fixtures loaded (``fixture_data`` already parsed, else the files), and
    its scenario engine (``template``'s files and catalog when given, else read from the settings).

    Raises: FixtureError when a fixture file is broken.
    """
    clock = Clock()
    credentials = SigningCredentials(
        settings.s3_access_key_id, settings.s3_secret_access_key, settings.s3_region
    )
    fixed = frozenset((vendor.name, kind) for vendor in vendors.values() for kind in vendor.fixed_kinds)
    parts = (
        _shared_parts(settings, name, clock, fixed)
        if settings.state_url
        else _local_parts(settings, clock, fixed)
    )
    sandbox = Sandbox(
        settings=settings,
        clock=clock,
        ids=parts["ids"],
        store=parts["store"],
        idempotency=parts["idempotency"],
        journal=parts["journal"],
        storage=Storage(parts["objects"], credentials, clock, parts["grants"]),
        vendors=vendors,
        name=name,
        path_prefix="" if name == DEFAULT_SESSION else f"{PATH_MARK}{name}",
        fixture_data=fixture_data,
        shared=parts["shared"],
    )
    if name != DEFAULT_SESSION:
        sandbox.storage.objects.session_max_bytes = settings.session_max_bytes or None
    for vendor in vendors.values():
        for bucket in vendor.buckets:
            sandbox.storage.objects.ensure_bucket(bucket)
    if sandbox.shared is None:
        sandbox.load_fixtures()
    else:
        sandbox.join_shared()
    if template is None:
        _attach_scenarios(sandbox)
    else:
        sandbox.scenarios = type(template).like(template, sandbox)  # type: ignore[attr-defined]
    return sandbox


def _local_parts(settings: Settings, clock: Clock, fixed: frozenset[tuple[str, str]]) -> dict[str, Any]:
    """The stores of a sandbox whose state lives in this process (the default)."""
    return {
        "shared": None,
        "ids": Ids(settings.seed),
        "store": Store(settings.max_records, fixed_kinds=fixed),
        "idempotency": IdempotencyStore(clock, settings.max_idempotency_keys),
        "journal": Journal(settings.journal_size),
        "objects": ObjectStore(settings.s3_region, settings.max_objects, settings.max_object_bytes),
        "grants": None,
    }


def _shared_parts(
    settings: Settings, name: str, clock: Clock, fixed: frozenset[tuple[str, str]]
) -> dict[str, Any]:
    """The stores of a sandbox whose state lives in Redis (``--state-url``), shared by every process
    serving it; one namespace per session."""
    from mock_server.core.shared import SharedState, client_for
    from mock_server.core.shared_idempotency import SharedIdempotencyStore
    from mock_server.core.shared_journal import SharedJournal
    from mock_server.core.shared_store import SharedStore
    from mock_server.storage.shared_grants import SharedGrantBook
    from mock_server.storage.shared_objects import SharedObjectStore

    assert settings.state_url is not None
    shared = SharedState(client_for(settings.state_url), f"{settings.state_namespace}:{name}")
    draws = shared.key("id-draws")
    spool = (
        settings.spool_dir or Path(tempfile.gettempdir()) / f"vendor-sandbox-spool-{settings.state_namespace}"
    )
    return {
        "shared": shared,
        "ids": SharedIds(settings.seed, lambda: int(shared.redis.incr(draws))),
        "store": SharedStore(shared, settings.max_records, fixed),
        "idempotency": SharedIdempotencyStore(shared, clock, settings.max_idempotency_keys),
        "journal": SharedJournal(shared, settings.journal_size),
        "objects": SharedObjectStore(
            shared, spool, settings.s3_region, settings.max_objects, settings.max_object_bytes, clock
        ),
        "grants": SharedGrantBook(shared, clock),
    }


def _attach_scenarios(sandbox: Sandbox) -> None:
    """Load the scenario engine when the package has one (it registers no vendor by name)."""
    try:
        engine_module = importlib.import_module("mock_server.scenarios.engine")
    except ModuleNotFoundError as exc:
        if exc.name != "mock_server.scenarios.engine":
            raise
        return
    shared = getattr(sandbox, "shared", None)  # workers over one state: scenarios/shared_engine.py
    if shared is not None:
        shared_module = importlib.import_module("mock_server.scenarios.shared_engine")
        sandbox.scenarios = shared_module.SharedScenarioEngine.from_settings(sandbox, shared)
        return
    sandbox.scenarios = engine_module.ScenarioEngine.from_settings(sandbox)


def _session_registry(sandbox: Sandbox) -> SessionRegistry:
    if sandbox.shared is None:
        return SessionRegistry(sandbox, session_factory(sandbox))
    from mock_server.core.shared import SharedState
    from mock_server.core.shared_sessions import SharedSessionRegistry

    root = SharedState(sandbox.shared.redis, sandbox.settings.state_namespace)
    return SharedSessionRegistry(sandbox, session_factory(sandbox), session_factory(sandbox, join=True), root)


def session_factory(default: Sandbox, join: bool = False) -> Callable[[str, SessionSpec], Sandbox]:
    """How the registry builds a session: like the default sandbox, sharing its settings, vendors and
    parsed default fixtures (never changed; each session hands its vendors a copy). ``join``: this
    process's copy of a session another process made (its scenario documents are already shared)."""
    defaults = copy.deepcopy(default.fixtures)

    def build(name: str, spec: SessionSpec) -> Sandbox:
        settings = default.settings if spec.seed is None else default.settings.replace(seed=spec.seed)
        data = defaults if spec.fixtures is None else {**defaults, **_parse_fixtures(default, spec.fixtures)}
        sandbox = build_sandbox(settings, default.vendors, data, name, default.scenarios)
        try:
            for document in () if join else spec.scenarios:
                sandbox.scenarios.add(document, source=f"session {name}")  # type: ignore[union-attr]
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    return build


def _parse_fixtures(default: Sandbox, given: dict[str, Any] | str) -> dict[str, dict[str, Any]]:
    """Fixtures given inline (a mapping of vendor to its section, or YAML text), checked like files.

    Raises: FixtureError naming the path inside the document and the reason.
    """
    schemas = {name: v.fixtures_schema or {"type": "object"} for name, v in default.vendors.items()}
    rules = {name: vendor.fixture_rules for name, vendor in default.vendors.items()}
    text = given if isinstance(given, str) else json.dumps(given)
    with tempfile.TemporaryDirectory(prefix="sandbox-session-") as folder:
        file = Path(folder) / "fixtures.yaml"
        file.write_text(text, encoding="utf-8")
        try:
            return load_fixtures([file], schemas, rules)
        except FixtureError as exc:  # name the document as sent, not the temporary file
            problems = [problem.replace(str(file), "fixtures") for problem in exc.problems]
            raise FixtureError(problems[0], problems) from None
