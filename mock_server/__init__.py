"""vendor-sandbox: an offline sandbox for four healthcare vendors' attachment APIs."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "create_app"]


def create_app(settings=None):  # noqa: ANN001, ANN201 - re-exported lazily to keep import cheap
    from mock_server.app import create_app as _create_app

    return _create_app(settings)
