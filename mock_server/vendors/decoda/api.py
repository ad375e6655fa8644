"""The FastAPI application that serves Decoda, mounted by the core at ``/decoda``.

Decoda's API is a FastAPI service, so the sandbox runs FastAPI too: request validation and its 422
bodies, 404/405 answers and the ``{"detail": ...}`` refusals are FastAPI's own. Three adaptations to
the sandbox around it:

- the sandbox comes from the outer app (``scope["app"].state.sandbox``, read before FastAPI replaces
  ``scope["app"]``) and is handed to the endpoints through ``request.state.sandbox``;
- FastAPI's own ``ServerErrorMiddleware`` is left out, so an unhandled error reaches the core's vendor
  boundary, which logs and journals it and answers Decoda's plain-text 500;
- the body caps of the fixtures (``decoda.limits``) apply while the body streams in: a declared or
  received body over ``max_request_bytes`` (1 MiB for non-form bodies) is 413; ``max_files`` and the
  1 MiB text-field cap are Starlette's form limits, with Starlette's 400 messages. They are handed to
  FastAPI per request through its ``scope["fastapi"]["form_limits"]`` (FastAPI >= 0.165), because the
  caps come from each sandbox's fixtures rather than from the route declarations.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.datastructures import Headers
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.core.errors import SandboxError
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.decoda import auth, fixtures
from mock_server.vendors.decoda.errors import render

NON_FORM_BODY_LIMIT = 1024 * 1024
FORM_MEDIA_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def sandbox_of(request: Request) -> Sandbox:
    return request.state.sandbox


def tenant_of(
    request: Request,
    tenant: Annotated[
        str, Header(alias="TENANT", description="The tenant you are making this request on behalf of")
    ],
    api_key: Annotated[str, Header(alias="API-KEY", description="Your api key")],
) -> str:
    """The authenticated tenant. Raises: InvalidApiKey (401)."""
    return auth.authenticate(sandbox_of(request), tenant, api_key)


Tenant = Annotated[str, Depends(tenant_of)]
SandboxDep = Annotated[Sandbox, Depends(sandbox_of)]


def too_large(limit: int) -> HTTPException:
    # FastAPI re-raises an HTTPException met while reading the body (any other error becomes a 400).
    return HTTPException(413, f"Request body too large: the limit is {limit} bytes")


class BodyCaps:
    """Refuse a body over its cap while it streams; set Starlette's form limits from the fixtures."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        config = fixtures.config(scope["state"]["sandbox"])
        headers = Headers(scope=scope)
        is_form = headers.get("content-type", "").split(";", 1)[0].strip().lower() in FORM_MEDIA_TYPES
        limit = config.max_request_bytes if is_form else NON_FORM_BODY_LIMIT
        scope.setdefault("fastapi", {})["form_limits"] = {
            "max_files": config.max_files,
            "max_part_size": config.max_field_bytes,
        }
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await render_http(scope, receive, send, too_large(limit))
            return
        received = 0

        async def capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, capped, send)


async def render_http(scope: Scope, receive: Receive, send: Send, exc: HTTPException) -> None:
    response = await http_exception_handler(Request(scope, receive), exc)
    await response(scope, receive, send)


class DecodaApi(FastAPI):
    """FastAPI, minus its outermost 500 handler, taking the sandbox from the app that mounts it."""

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return stack.app if isinstance(stack, ServerErrorMiddleware) else stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            outer = scope.get("app")
            sandbox = getattr(getattr(outer, "state", None), "sandbox", None)
            state = scope.setdefault("state", {})
            if sandbox is not None:
                state.setdefault("sandbox", sandbox)
        await super().__call__(scope, receive, send)


async def _render_sandbox_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxError)
    response = render(request, exc)
    for name, value in exc.headers.items():
        response.headers.setdefault(name, value)
    return response


def build_api(**kwargs: Any) -> DecodaApi:
    api = DecodaApi(
        title="Decoda API",
        version="1.0",
        description="Decoda Health's attachments API, as served by vendor-sandbox.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        separate_input_output_schemas=False,
        exception_handlers={SandboxError: _render_sandbox_error},
        **kwargs,
    )
    api.add_middleware(BodyCaps)
    return api
