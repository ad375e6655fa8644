"""``python -m mock_server.healthcheck``: exit 0 when the sandbox answers ``/__admin/health``, else 1.

The docker image's ``HEALTHCHECK`` and CI scripts run it; it needs only the standard library (no curl
in the image). Without ``--url`` it checks the server that the same ``MOCK_SERVER_*`` environment
would start, on the loopback interface when the server listens on all of them. ``--wait SECONDS``
retries until healthy (for CI steps that wait for a service container).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from mock_server.core.clock import Clock
from mock_server.settings import SettingError, Settings, process_environment

WILDCARDS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}
RETRY_INTERVAL = 0.25


def default_url(environ: Mapping[str, str]) -> str:
    # Only where the server listens matters here; another unusable setting is the server's to report.
    settings = Settings.from_env(
        {k: v for k, v in environ.items() if k in ("MOCK_SERVER_HOST", "MOCK_SERVER_PORT")}
    )
    host = WILDCARDS.get(settings.host, settings.host)
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}/__admin/health"


def check(url: str, timeout: float) -> tuple[bool, str]:
    """One probe: (healthy, what to print)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a local http URL
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return False, f"unhealthy: {url} answered {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"unhealthy: {url}: {reason}"
    if body.get("status") != "ok":
        return False, f"unhealthy: {url} answered {body!r}"
    return True, f"healthy: vendor-sandbox {body.get('version', '?')} ({', '.join(body.get('vendors', []))})"


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mock_server.healthcheck", description=__doc__)
    parser.add_argument("--url", help="health URL (default: from MOCK_SERVER_HOST and MOCK_SERVER_PORT)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per attempt (default 3)")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep trying for up to this long before giving up (default: one attempt)",
    )
    args = parser.parse_args(argv)
    try:
        url = args.url or default_url(process_environment() if environ is None else environ)
    except SettingError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    clock = Clock()  # real time, unshifted: the only sanctioned way to read it
    deadline = clock.monotonic() + args.wait
    while True:
        healthy, message = check(url, args.timeout)
        if healthy or clock.monotonic() + RETRY_INTERVAL > deadline:
            break
        time.sleep(RETRY_INTERVAL)
    print(message, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
