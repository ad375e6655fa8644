"""The vendor registry: the one list the app, the CLI and the scenario engine find vendors through.

Adding a vendor is a folder ``mock_server/vendors/<name>/`` whose ``__init__`` exports ``vendor`` (a
:class:`mock_server.core.vendor.Vendor`) plus its name in ``PACKAGES`` below; no core module changes.
The order here is the order of mounting, of the admin listings and of the built-in magic-id scenarios.
"""

from __future__ import annotations

import importlib

from mock_server.core.vendor import Vendor
from mock_server.storage.routes import vendor as storage_vendor

PACKAGES: tuple[str, ...] = ("qubs", "decoda", "saferme", "candid")


def available_vendors() -> dict[str, Vendor]:
    """Every vendor package present, then storage, by name (vendors are islands: each is optional).

    Raises: ModuleNotFoundError only for a missing dependency inside a vendor package.
    """
    vendors: dict[str, Vendor] = {}
    for name in PACKAGES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        if getattr(module, "__file__", None) is None:
            continue  # a folder without __init__.py is not (yet) a vendor package
        vendors[name] = module.vendor
    # Storage's built-in magic ids come last: vendors' rules are checked first (as before the registry).
    return {**vendors, "storage": storage_vendor}
