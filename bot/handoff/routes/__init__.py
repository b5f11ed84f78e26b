"""The ways a customer reaches a person, one module each.

Every `HandoffRoute` subclass in a module of this package is a route; the bot offers
the first available one by `preference`. Adding a route is one new module here and its
sentences in responses.yml (docs/architecture.md shows one).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from collections.abc import Sequence
from datetime import datetime
from types import ModuleType

from bot.config.settings import Settings
from bot.handoff.routes.base import HandoffRoute, Offer


def discover(package: ModuleType) -> tuple[HandoffRoute, ...]:
    """One of each route class defined in the modules of `package`, most preferred first."""
    found: list[HandoffRoute] = []
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, HandoffRoute)
                and cls.__module__ == module.__name__
                and not inspect.isabstract(cls)
            ):
                found.append(cls())
    return tuple(sorted(found, key=lambda route: route.preference))


ROUTES = discover(sys.modules[__name__])
ROUTE_NAMES = frozenset(route.name for route in ROUTES)
# Every sentence a route says; responses.yml must have each in every language.
ROUTE_SENTENCES = tuple(key for route in ROUTES for key in route.sentences)


def choose_route(
    settings: Settings,
    now: datetime,
    agents_online: bool,
    routes: Sequence[HandoffRoute] = ROUTES,
) -> HandoffRoute:
    """The most preferred of `routes` available now (mailto always is)."""
    return next(r for r in routes if r.available(settings, now, agents_online))


def route_named(name: str) -> HandoffRoute:
    """The route called `name`.

    Raises:
        KeyError: when no route has that name.
    """
    for route in ROUTES:
        if route.name == name:
            return route
    raise KeyError(name)


__all__ = [
    "ROUTES",
    "ROUTE_NAMES",
    "ROUTE_SENTENCES",
    "HandoffRoute",
    "Offer",
    "choose_route",
    "discover",
    "route_named",
]
