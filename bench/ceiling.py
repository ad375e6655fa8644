"""The framework's ceiling: a one-route Starlette app, no work, on the sandbox's server settings.

Served by uvicorn with the settings ``mock-server serve`` gives the sandbox (``transport.uvicorn_config``
with the default Settings: the guarded httptools protocol, uvloop when installed, no access log, no log
config), it reads the request body and answers ``POST /ceiling`` with a small JSON 201. Loading it the same
way as the sandbox gives the requests/s the framework allows on this machine.

    python bench/ceiling.py --port 8190
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mock_server.settings import Settings  # noqa: E402
from mock_server.transport import uvicorn_config  # noqa: E402


async def ceiling(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"ok": True}, status_code=201)


app = Starlette(routes=[Route("/ceiling", ceiling, methods=["POST", "GET"])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8190)
    a = ap.parse_args()
    uvicorn.Server(uvicorn_config(app, Settings(), host=a.host, port=a.port)).run()


if __name__ == "__main__":
    main()
