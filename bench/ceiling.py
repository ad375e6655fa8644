"""The framework's ceiling: a one-route Starlette app, no work, on the sandbox's server settings.

Served by uvicorn exactly as ``mock-server serve`` serves the sandbox (uvloop/httptools when
installed, no access log, no log config), it answers ``POST /ceiling`` with a small JSON 201. Loading it
the same way as the sandbox gives the requests/s the framework allows on this machine.

    python bench/ceiling.py --port 8190
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def ceiling(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"ok": True}, status_code=201)


app = Starlette(routes=[Route("/ceiling", ceiling, methods=["POST", "GET"])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8190)
    a = ap.parse_args()
    uvicorn.run(app, host=a.host, port=a.port, log_config=None, access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
