"""One route match per request: the sandbox middleware walks the routes first (it needs the operation and
its path parameters before the app runs: journal, scenarios), and the routers below take that walk instead
of matching again.

Starlette's router matches each route of its list in turn (a regular expression per route) and mounts
nest routers, so a request was matched twice: about 6 us of a QUBS create's ~130 us (bench/PROFILE.md).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match, Mount, Router
from starlette.types import Receive, Scope, Send

ROUTE_WALK = "route_walk"
"""``scope["state"]`` key: ``(path, [(route, child scope), ...])``, outermost first, consumed as routed."""

Walk = list[tuple[BaseRoute, Scope]]


def walk_routes(routes: list[BaseRoute], scope: Scope) -> Walk:
    """The routes Starlette's routers pick for ``scope``, outermost first, each with the child scope its
    match gave: at each level the first full match, into mounts. Ends early at a level with no full match
    (the router there answers 404/405 or redirects itself) and at a mount that lists no routes."""
    walked: Walk = []
    while True:
        for route in routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                break
        else:
            return walked
        walked.append((route, child))
        if not isinstance(route, Mount) or not route.routes:
            return walked
        scope = {**scope, **child}
        routes = route.routes


def remember_walk(scope: Scope, walked: Walk) -> None:
    """Leave ``walked`` for the ``WalkedRouter``s that will route ``scope``."""
    scope["state"][ROUTE_WALK] = (scope["path"], list(walked))


class WalkedRouter(Router):
    """Starlette's ``Router``, taking the next step of the request's remembered walk when it names one of
    this router's routes for the same path; anything else (no walk, another path, lifespan) is
    Starlette's own matching."""

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route ``scope`` as ``Router.app`` does (see the class docstring)."""
        remembered = scope.get("state", {}).get(ROUTE_WALK) if scope["type"] == "http" else None
        if remembered is not None and remembered[1] and remembered[0] == scope["path"]:
            route, child = remembered[1][0]
            if any(route is mine for mine in self.routes):
                del remembered[1][0]
                if "router" not in scope:
                    scope["router"] = self
                scope["route"] = route
                scope.update(child)
                await route.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)
