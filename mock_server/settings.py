"""Runtime configuration: one frozen dataclass; each field is the whole definition of one setting.

A field declared with ``setting(default, type, help)`` gives the setting's name, its flag
(``--journal-size``), its environment variable (``MOCK_SERVER_JOURNAL_SIZE``), its type (a click
parameter type, which parses and validates the text), its default and its help. The CLI, ``--help``,
``Settings.from_env`` and the README check are all derived from the fields, so adding a setting is
one line here. No other module reads ``os.environ``; command-line flags override the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

PACKAGE_DIR = Path(__file__).resolve().parent


def default_fixtures_dir(package_dir: Path = PACKAGE_DIR) -> Path:
    """The directory of default fixture files (one ``<vendor>.yaml`` each).

    In a checkout (editable install included) that is the top-level ``fixtures/`` next to
    ``pyproject.toml``, the only copy in the repository; an installed wheel carries the same files as
    package data in ``mock_server/fixtures/`` (copied there at build time, see setup.py).
    """
    checkout = package_dir.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "fixtures").is_dir():
        return checkout / "fixtures"
    return package_dir / "fixtures"


DEFAULT_FIXTURES = default_fixtures_dir()
ENV_PREFIX = "MOCK_SERVER_"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
VENDOR_NAMES = ("qubs", "decoda", "saferme", "candid")


class SettingError(ValueError):
    """A setting whose text cannot be used: names the flag or variable, the value and why."""


class PathList(click.ParamType):
    """Files or directories separated by ``os.pathsep`` (``:`` on Linux and macOS)."""

    name = "paths"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        parts = tuple(Path(part) for part in str(value).split(os.pathsep) if part.strip())
        if not parts:
            self.fail("expected at least one file or directory", param, ctx)
        return parts


class CommaList(click.ParamType):
    """Comma-separated words (blanks around each dropped, empty items ignored)."""

    name = "list"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        return tuple(part.strip() for part in str(value).split(",") if part.strip())


class BaseUrl(click.ParamType):
    """An absolute http(s) URL (generated URLs are built on it)."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.fail(f"{value!r} is not an absolute http:// or https:// URL", param, ctx)
        return str(value)


def setting(default: Any, kind: Any, help_text: str, shown_default: str | None = None) -> Any:
    """A ``Settings`` field: its default, click type (parses the flag and variable text) and help."""
    return field(default=default, metadata={"type": kind, "help": help_text, "shown": shown_default})


@dataclass(frozen=True)
class Settings:
    host: str = setting("127.0.0.1", str, "interface to listen on")
    port: int = setting(8080, click.IntRange(0, 65535), "TCP port to listen on (0 picks a free one)")
    fixtures: tuple[Path, ...] = setting(
        (DEFAULT_FIXTURES,),
        PathList(),
        "fixture files or directories replacing the embedded defaults (os.pathsep-separated)",
        "the embedded defaults",
    )
    scenarios: tuple[Path, ...] = setting(
        (), PathList(), "scenario files or directories to load at start (os.pathsep-separated)", "none"
    )
    public_url: str | None = setting(
        None,
        BaseUrl(),
        "base URL put into generated upload/download URLs",
        "the caller's scheme and Host",
    )
    root_vendor: str | None = setting(
        None, click.Choice(VENDOR_NAMES), "also serve this vendor at the root path", "none"
    )
    seed: int | None = setting(
        None, int, "seed for generated ids and tokens, for reproducible runs", "random"
    )
    log_format: str = setting("text", click.Choice(LOG_FORMATS), "request log format")
    log_level: str = setting("info", click.Choice(LOG_LEVELS, case_sensitive=False), "log level")
    journal_size: int = setting(1000, click.IntRange(min=1), "how many requests the journal keeps")
    shutdown_grace: float = setting(
        10.0, click.FloatRange(min=0), "seconds in-flight requests get to finish on SIGTERM/SIGINT"
    )
    s3_region: str = setting("us-east-1", str, "region of the embedded S3 and its signatures")
    s3_access_key_id: str = setting(
        "AKIASANDBOX000000001", str, "access key id the sandbox signs storage URLs with"
    )
    s3_secret_access_key: str = setting(
        "sandbox/secret/key/do-not-use-in-production", str, "secret key the sandbox signs storage URLs with"
    )
    default_scenarios: bool = setting(True, click.BOOL, "load the built-in magic-id scenario rules")
    stub_cors: bool = setting(
        False, click.BOOL, "CORS preflights and headers on the vendor APIs, for browsers"
    )
    max_sessions: int = setting(
        100, click.IntRange(min=0), "how many isolated sessions (POST /__admin/sessions) may live at once"
    )
    session_max_bytes: int = setting(
        256 * 1024**2, click.IntRange(min=0), "bytes of stored objects each session may hold (0: no cap)"
    )
    # Limits of a long-running shared service (README "Features and limitations").
    max_header_bytes: int = setting(
        8192, click.IntRange(min=1), "largest request header section accepted (bytes); more answers 400"
    )
    max_header_count: int = setting(
        100, click.IntRange(min=1), "most request header lines accepted; more answers 400"
    )
    header_timeout: float = setting(
        20.0, click.FloatRange(min=0, min_open=True), "seconds a client gets to send a whole request head"
    )
    body_timeout: float = setting(
        30.0,
        click.FloatRange(min=0, min_open=True),
        "seconds a request body may stall between chunks before the cut-off",
    )
    keep_alive_timeout: float = setting(
        5.0, click.FloatRange(min=0, min_open=True), "seconds an idle keep-alive connection stays open"
    )
    admin_body_bytes: int = setting(
        1024 * 1024, click.IntRange(min=1), "largest admin API request body (bytes); more answers 413"
    )
    admin_token: str | None = setting(
        None, str, "require this token (Bearer, or Basic password) on /__admin", "none (open)"
    )
    trusted_proxies: tuple[str, ...] = setting(
        (), CommaList(), "comma-separated proxy addresses whose X-Forwarded-For is believed", "none"
    )
    max_records: int = setting(
        100_000, click.IntRange(min=1), "most vendor records held before creations answer 507"
    )
    max_idempotency_keys: int = setting(
        50_000, click.IntRange(min=1), "most live idempotency keys held before new keys answer 507"
    )
    max_objects: int = setting(
        10_000, click.IntRange(min=1), "most stored objects held before uploads answer S3 507 StorageFull"
    )
    max_object_bytes: int = setting(
        2 * 1024 * 1024 * 1024,
        click.IntRange(min=1),
        "most bytes of stored objects held before uploads answer 507",
    )

    # Several processes over one sandbox (core/shared.py; README "More than one process").
    workers: int = setting(
        1, click.IntRange(1, 64), "worker processes serving one sandbox (more than 1 needs --state-url)"
    )
    state_url: str | None = setting(
        None,
        str,
        "Redis URL holding the sandbox's state, shared by every worker and replica (redis://host:port/db)",
        "none (state in this process)",
    )
    state_namespace: str = setting(
        "vendor-sandbox", str, "prefix of this sandbox's Redis keys (several sandboxes may share a server)"
    )
    spool_dir: Path | None = setting(
        None,
        click.Path(file_okay=False, path_type=Path),
        "directory for stored object bodies that every worker and replica can read (with --state-url)",
        "a folder under the temporary directory, named after --state-namespace",
    )

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from ``MOCK_SERVER_*`` variables only (pure: pass ``os.environ`` in).

        Raises: SettingError naming the variable, its value and why it cannot be used.
        """
        values: dict[str, object] = {}
        for option in OPTIONS:
            raw = environ.get(option.env)
            if raw not in (None, ""):
                values[option.name] = option.parse(raw, option.env)
        return cls(**values)  # type: ignore[arg-type]


def process_environment() -> dict[str, str]:
    """A copy of this process's environment: the one place the package reads ``os.environ``
    (callers pass it to :meth:`Settings.from_env`, or on to a child process)."""
    return dict(os.environ)


# A field declared without ``setting()`` still becomes a flag: its type comes from its annotation.
_PLAIN_TYPES: dict[str, Any] = {"int": int, "float": float, "bool": click.BOOL, "str": str}


@dataclass(frozen=True)
class Option:
    """One setting as the CLI sees it: field name, flag, environment variable, click type, help."""

    name: str
    flag: str
    env: str
    type: click.ParamType
    default: Any
    help: str
    shown_default: str | None = None

    @classmethod
    def of(cls, spec: dataclasses.Field[Any]) -> Option:
        annotation = str(spec.type).replace(" | None", "")
        kind = spec.metadata.get("type", _PLAIN_TYPES.get(annotation, str))
        return cls(
            name=spec.name,
            flag="--" + spec.name.replace("_", "-"),
            env=ENV_PREFIX + spec.name.upper(),
            type=click.types.convert_type(kind),
            default=spec.default,
            help=spec.metadata.get("help", spec.name.replace("_", " ")),
            shown_default=spec.metadata.get("shown"),
        )

    def parse(self, raw: str, source: str | None = None) -> object:
        """The value of ``raw`` as this setting's type. Raises: SettingError naming ``source`` (the flag)."""
        try:
            return self.type.convert(raw, None, None)
        except click.BadParameter as exc:
            raise SettingError(f"{source or self.flag}={raw!r}: {exc.message}") from None


OPTIONS: tuple[Option, ...] = tuple(Option.of(spec) for spec in dataclasses.fields(Settings))
