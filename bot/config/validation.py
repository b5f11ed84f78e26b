"""pydantic's validation errors in config.yml as problems that name the key and its line."""

from __future__ import annotations

import types
import typing
from dataclasses import is_dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.config.errors import Problem
from bot.config.yamlfile import KeyPath, YamlDocument


def problems_of(exc: ValidationError, doc: YamlDocument, root: type) -> list[Problem]:
    """pydantic's errors in validating `doc` as dataclass `root`, as problems at their
    keys' lines, one per key."""
    found: dict[KeyPath, Problem] = {}
    for error in exc.errors():
        key, hint = _setting_of(error["loc"], root)
        if key not in found:
            found[key] = doc.problem(key, _message(error, key, hint))
    return list(found.values())


def _setting_of(loc: tuple[int | str, ...], root: type) -> tuple[KeyPath, Any]:
    """The key path of the setting an error is about, and its type; for a key that is
    not a setting, the key itself and None."""
    owner: Any = root
    for depth, key in enumerate(loc):
        hints = typing.get_type_hints(owner) if is_dataclass(owner) else {}
        if key not in hints:
            return tuple(loc[: depth + 1]), None
        owner = hints[key]
        if not is_dataclass(owner):
            return tuple(loc[: depth + 1]), owner
    return tuple(loc), owner


def _message(error: ErrorDetails, key: KeyPath, hint: Any) -> str:
    dotted = ".".join(str(k) for k in key)
    if hint is None:
        return f"unknown key {dotted!r}"
    if error["type"] == "value_error":
        return f"{dotted} {(error.get('ctx') or {}).get('error')}"
    if is_dataclass(hint):
        return f"{dotted} must be a mapping of settings"
    return f"{dotted} must be {_describe(hint)}"


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(option) for option in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if origin is list:
        return f"a list of {_describe(typing.get_args(hint)[0])}s"
    if origin is dict:
        return f"a mapping of {_describe(typing.get_args(hint)[1])}"
    return {
        str: "text",
        float: "a number",
        int: "a whole number",
        bool: "true or false",
        date: "a date",
    }.get(hint, str(hint))
