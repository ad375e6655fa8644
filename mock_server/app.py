"""``create_app(settings)``: the whole URL map on one screen.

/__admin/...          admin API (health, reset, clock, requests, objects, fixtures, scenarios)
/qubs/...             QUBS integrations API          (mock_server.vendors.qubs)
/decoda/...           Decoda Health attachments      (mock_server.vendors.decoda)
/saferme/...          SaferMe Report API v4          (mock_server.vendors.saferme)
/candid/...           Candid Health attachments      (mock_server.vendors.candid)
/s3/{bucket}/{key}    embedded S3: presigned PUT/GET, POST policy form
/gcs/{bucket}/{key}   GCS-style signed downloads
/                     index of the above (and, with --root-vendor, that vendor's routes)
"""

from __future__ import annotations

import importlib

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route

from mock_server.admin.guard import AdminGuard
from mock_server.admin.routes import http_error, index_routes
from mock_server.admin.routes import routes as admin_routes
from mock_server.boundary import VendorApp, dotall
from mock_server.core.clock import Clock
from mock_server.core.idempotency import IdempotencyStore
from mock_server.core.ids import Ids
from mock_server.core.journal import Journal
from mock_server.core.sandbox import Sandbox
from mock_server.core.store import Store
from mock_server.core.vendor import Vendor
from mock_server.cors_middleware import CorsMiddleware
from mock_server.middleware import SandboxMiddleware
from mock_server.settings import Settings
from mock_server.storage import s3_api
from mock_server.storage.s3 import ObjectStore
from mock_server.storage.service import Storage
from mock_server.storage.sigv4 import SigningCredentials
from mock_server.transport import HeaderGuard
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

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(HeaderGuard, sandbox=sandbox),
            Middleware(CorsMiddleware, sandbox=sandbox),
            Middleware(SandboxMiddleware, sandbox=sandbox, routes=routes),
            Middleware(AdminGuard, sandbox=sandbox),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.state.sandbox = sandbox
    return app


def build_sandbox(settings: Settings, vendors: dict[str, Vendor]) -> Sandbox:
    """All state of one app: core services, its own embedded S3 with the vendors' buckets, fixtures loaded.

    Raises: FixtureError when a fixture file is broken.
    """
    clock = Clock()
    credentials = SigningCredentials(
        settings.s3_access_key_id, settings.s3_secret_access_key, settings.s3_region
    )
    objects = ObjectStore(settings.s3_region, settings.max_objects, settings.max_object_bytes)
    sandbox = Sandbox(
        settings=settings,
        clock=clock,
        ids=Ids(settings.seed),
        store=Store(settings.max_records),
        idempotency=IdempotencyStore(clock, settings.max_idempotency_keys),
        journal=Journal(settings.journal_size),
        storage=Storage(objects, credentials, clock),
        vendors=vendors,
    )
    for vendor in vendors.values():
        for bucket in vendor.buckets:
            sandbox.storage.objects.ensure_bucket(bucket)
    sandbox.load_fixtures()
    _attach_scenarios(sandbox)
    return sandbox


def _attach_scenarios(sandbox: Sandbox) -> None:
    """Load the scenario engine when the package has one (it registers no vendor by name)."""
    try:
        engine_module = importlib.import_module("mock_server.scenarios.engine")
    except ModuleNotFoundError as exc:
        if exc.name != "mock_server.scenarios.engine":
            raise
        return
    sandbox.scenarios = engine_module.ScenarioEngine.from_settings(sandbox)
