"""``/__admin/scenarios`` and ``/__admin/operations``: list, add, enable, disable (a scenario or one
rule), remove, reset.

Bodies may be YAML or JSON (a ``scenarios:`` document or one scenario). An invalid document is
refused with 400 and ``{"error": {"status", "message", "file", "line", "path", "reason", "problems"}}``:
every problem found, each with file, line (when known), path and reason; ``message`` has one per line.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mock_server.core.jsontext import JSONResponse
from mock_server.core.requests import sandbox_of as _request_sandbox
from mock_server.scenarios.engine import ScenarioEngine
from mock_server.scenarios.model import ScenarioError, parse_text
from mock_server.scenarios.operations import operation_table

MAX_DOCUMENT = 1024 * 1024


def _error(status: int, message: str, **extra: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message, **extra}}, status_code=status)


def _engine(request: Request) -> ScenarioEngine | None:
    engine = _request_sandbox(request).scenarios
    return engine if isinstance(engine, ScenarioEngine) else None


def _missing() -> JSONResponse:
    return _error(503, "the scenario engine is not available")


async def list_scenarios(request: Request) -> Response:
    engine = _engine(request)
    if engine is None:
        return _missing()
    engine.reload_if_changed(force=True)
    return JSONResponse(engine.snapshot())


async def add_scenarios(request: Request) -> Response:
    engine = _engine(request)
    if engine is None:
        return _missing()
    raw = await request.body()
    if len(raw) > MAX_DOCUMENT:
        return _error(413, f"scenario documents are limited to {MAX_DOCUMENT} bytes")
    source = request.query_params.get("source") or "request body"
    try:
        names = engine.add(raw.decode("utf-8"), source=source)
    except UnicodeDecodeError:
        return _error(400, "the body is not UTF-8 text", file=source, path="(top level)", reason="not UTF-8")
    except ScenarioError as exc:
        return _error(400, str(exc), **exc.as_dict())
    except RecursionError:  # a parser that recursed on deep nesting: bad input, not a server fault
        return _error(
            400,
            "the document is nested too deeply",
            file=source,
            path="(top level)",
            reason="nested too deeply",
        )
    live = [engine.describe(item) for name in names if (item := engine.get(name)) is not None]
    return JSONResponse({"loaded": names, "scenarios": live}, status_code=201)


async def validate_scenarios(request: Request) -> Response:
    """Check without loading, against the same operation catalog as ``add``: 200 ``{"valid": true,
    "scenarios": [names]}`` or the 400 ``add`` answers."""
    engine = _engine(request)
    if engine is None:
        return _missing()
    raw = await request.body()
    if len(raw) > MAX_DOCUMENT:
        return _error(413, f"scenario documents are limited to {MAX_DOCUMENT} bytes")
    source = request.query_params.get("source") or "request body"
    try:
        parsed = parse_text(raw.decode("utf-8"), source, engine.catalog)
    except UnicodeDecodeError:
        return _error(400, "the body is not UTF-8 text", file=source, path="(top level)", reason="not UTF-8")
    except ScenarioError as exc:
        return _error(400, str(exc), **exc.as_dict())
    return JSONResponse({"valid": True, "scenarios": [scenario.name for scenario in parsed]})


async def clear_scenarios(request: Request) -> Response:
    engine = _engine(request)
    if engine is None:
        return _missing()
    engine.clear()
    return JSONResponse({"status": "cleared", "scenarios": [live.scenario.name for live in engine.active]})


async def reset_scenarios(request: Request) -> Response:
    engine = _engine(request)
    if engine is None:
        return _missing()
    engine.reset_counters()
    return JSONResponse({"status": "reset"})


async def get_scenario(request: Request) -> Response:
    engine = _engine(request)
    if engine is None:
        return _missing()
    live = engine.get(request.path_params["name"])
    if live is None:
        return _error(404, f"no scenario named {request.path_params['name']!r}")
    return JSONResponse(engine.describe(live))


async def delete_scenario(request: Request) -> Response:
    engine = _engine(request)
    if engine is None:
        return _missing()
    name = request.path_params["name"]
    if not engine.remove(name):
        return _error(404, f"no scenario named {name!r}")
    return JSONResponse({"status": "removed", "name": name})


async def _toggle(request: Request, enabled: bool) -> Response:
    engine = _engine(request)
    if engine is None:
        return _missing()
    name = request.path_params["name"]
    if not engine.set_enabled(name, enabled):
        return _error(404, f"no scenario named {name!r}")
    live = engine.get(name)
    assert live is not None
    return JSONResponse(engine.describe(live))


async def set_rule(request: Request) -> Response:
    """Body ``{"enabled": true|false}``: switch one rule (by id or index) on or off."""
    engine = _engine(request)
    if engine is None:
        return _missing()
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    if not isinstance(body, dict) or set(body) != {"enabled"} or not isinstance(body["enabled"], bool):
        return _error(400, 'the body must be {"enabled": true} or {"enabled": false}')
    name, rule = request.path_params["name"], request.path_params["rule"]
    try:
        live = engine.set_rule_enabled(name, rule, body["enabled"])
    except KeyError:
        return _error(404, f"scenario {name!r} has no rule {rule!r} (give its id or index)")
    if live is None:
        return _error(404, f"no scenario named {name!r}")
    return JSONResponse(engine.describe(live))


async def enable_scenario(request: Request) -> Response:
    return await _toggle(request, True)


async def disable_scenario(request: Request) -> Response:
    return await _toggle(request, False)


async def list_operations(request: Request) -> Response:
    table = operation_table(request.app.routes)
    return JSONResponse({"operations": table, "count": len(table)})


routes: list[BaseRoute] = [
    Route("/scenarios", list_scenarios, methods=["GET"], name="admin:listScenarios"),
    Route("/scenarios", add_scenarios, methods=["POST"], name="admin:addScenarios"),
    Route("/scenarios", clear_scenarios, methods=["DELETE"], name="admin:clearScenarios"),
    Route("/scenarios/validate", validate_scenarios, methods=["POST"], name="admin:validateScenarios"),
    Route("/scenarios/reset", reset_scenarios, methods=["POST"], name="admin:resetScenarios"),
    Route("/scenarios/{name}", get_scenario, methods=["GET"], name="admin:getScenario"),
    Route("/scenarios/{name}", delete_scenario, methods=["DELETE"], name="admin:deleteScenario"),
    Route("/scenarios/{name}/enable", enable_scenario, methods=["POST"], name="admin:enableScenario"),
    Route("/scenarios/{name}/disable", disable_scenario, methods=["POST"], name="admin:disableScenario"),
    Route("/scenarios/{name}/rules/{rule}", set_rule, methods=["PATCH"], name="admin:setScenarioRule"),
    Route("/operations", list_operations, methods=["GET"], name="admin:listOperations"),
]
