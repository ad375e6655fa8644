"""What the contract fuzzing suites share: schemathesis checks and configuration, hypothesis settings, and
an app wrapper for schemathesis's ASGI client."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp, Receive, Scope, Send

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Generation must not depend on earlier answers (they carry clock times and request ids), so the same
# requests are sent on every run.
NO_FEEDBACK = {"extra-data-sources": {"responses": False}}
FUZZ = settings(
    max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


def contract_config(seed: int) -> SchemathesisConfig:
    """Deterministic generation from ``seed``, no feedback from earlier answers."""
    return SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "generation": {"deterministic": True},
            "phases": {
                "examples": NO_FEEDBACK,
                "coverage": NO_FEEDBACK,
                "fuzzing": {**NO_FEEDBACK, "error-feedback": {"enabled": False}},
            },
        }
    )


def without_lifespan(app: ASGIApp) -> ASGIApp:
    """``app`` for schemathesis, whose ASGI client runs a lifespan per call: the events are acknowledged
    here and never reach ``app`` (whose shutdown would close the sandbox, its buckets with it)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    return wrapped
