"""Runtime configuration: one frozen dataclass, built from flags and environment by pure functions.

No other module reads ``os.environ``. Every setting has a ``MOCK_SERVER_*`` variable; command-line
flags override the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_FIXTURES = PACKAGE_DIR / "fixtures"
DEFAULT_SCENARIOS = PACKAGE_DIR / "scenarios" / "defaults.yaml"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    fixtures: tuple[Path, ...] = (DEFAULT_FIXTURES,)
    scenarios: tuple[Path, ...] = ()
    public_url: str | None = None
    root_vendor: str | None = None
    seed: int | None = None
    log_format: str = "text"
    log_level: str = "info"
    journal_size: int = 1000
    shutdown_grace: float = 10.0
    s3_region: str = "us-east-1"
    s3_access_key_id: str = "AKIASANDBOX000000001"
    s3_secret_access_key: str = "sandbox/secret/key/do-not-use-in-production"
    default_scenarios: bool = True
    # Limits of a long-running shared service (README "Features and limitations").
    max_header_bytes: int = 8192
    max_header_count: int = 100
    header_timeout: float = 20.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    admin_body_bytes: int = 1024 * 1024
    admin_token: str | None = None
    trusted_proxies: tuple[str, ...] = ()
    max_records: int = 100_000
    max_idempotency_keys: int = 50_000
    max_objects: int = 10_000
    max_object_bytes: int = 2 * 1024 * 1024 * 1024

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from ``MOCK_SERVER_*`` variables only (pure: pass ``os.environ`` in)."""
        values: dict[str, object] = {}
        for option in OPTIONS:
            raw = environ.get(option.env)
            if raw not in (None, ""):
                values[option.name] = option.parse(raw)
        return cls(**values)  # type: ignore[arg-type]


def _paths(raw: str) -> tuple[Path, ...]:
    return tuple(Path(part) for part in raw.split(os.pathsep) if part)


def _bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _optional(raw: str) -> str | None:
    return raw or None


def _list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Option:
    """One setting: its field name, flag, environment variable, parser and help text."""

    name: str
    flag: str
    env: str
    parse: Callable[[str], object]
    help: str


def _option(name: str, parse: Callable[[str], object], help_text: str) -> Option:
    return Option(name, "--" + name.replace("_", "-"), "MOCK_SERVER_" + name.upper(), parse, help_text)


OPTIONS: tuple[Option, ...] = (
    _option("host", str, "interface to listen on"),
    _option("port", int, "TCP port to listen on (0 picks a free one)"),
    _option(
        "fixtures",
        _paths,
        "fixture files or directories replacing the embedded defaults (os.pathsep-separated)",
    ),
    _option("scenarios", _paths, "scenario files or directories to load at start (os.pathsep-separated)"),
    _option(
        "public_url",
        _optional,
        "base URL put into generated upload/download URLs (default: the caller's scheme and Host)",
    ),
    _option(
        "root_vendor", _optional, "also serve this vendor (qubs, decoda, saferme, candid) at the root path"
    ),
    _option("seed", int, "seed for generated ids and tokens, for reproducible runs"),
    _option("log_format", str, "request log format: text or json"),
    _option("log_level", str, "log level: debug, info, warning, error"),
    _option("journal_size", int, "how many requests the journal keeps"),
    _option("shutdown_grace", float, "seconds in-flight requests get to finish on SIGTERM/SIGINT"),
    _option("s3_region", str, "region of the embedded S3 and its signatures"),
    _option("s3_access_key_id", str, "access key id the sandbox signs storage URLs with"),
    _option("s3_secret_access_key", str, "secret key the sandbox signs storage URLs with"),
    _option("default_scenarios", _bool, "load the built-in magic-id scenario rules (true/false)"),
    _option("max_header_bytes", int, "largest request header section accepted (bytes); more answers 400"),
    _option("max_header_count", int, "most request header lines accepted; more answers 400"),
    _option("header_timeout", float, "seconds a client gets to send a whole request head"),
    _option("body_timeout", float, "seconds a request body may stall between chunks before the cut-off"),
    _option("keep_alive_timeout", float, "seconds an idle keep-alive connection stays open"),
    _option("admin_body_bytes", int, "largest admin API request body (bytes); more answers 413"),
    _option("admin_token", _optional, "require this token (Bearer, or Basic password) on /__admin"),
    _option("trusted_proxies", _list, "comma-separated proxy addresses whose X-Forwarded-For is believed"),
    _option("max_records", int, "most vendor records held before creations answer 507"),
    _option("max_idempotency_keys", int, "most live idempotency keys held before new keys answer 507"),
    _option("max_objects", int, "most stored objects held before uploads answer S3 507 StorageFull"),
    _option("max_object_bytes", int, "most bytes of stored objects held before uploads answer 507"),
)
