"""Collecting validation problems with their paths. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.catalog import close_matches


class Checker:
    """Collects every problem of one body, each with its path."""

    def __init__(self) -> None:
        self.issues: list[dict[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.issues.append({"path": path, "message": message})

    def expect(self, value: Any, kinds: type | tuple[type, ...], path: str, what: str) -> bool:
        ok = isinstance(value, kinds) and not (
            isinstance(value, bool) and bool not in kinds_tuple(kinds)
        )
        if not ok:
            self.fail(path, f"must be {what}, got {json_type(value)}")
        return ok


def kinds_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    """``kinds`` as a tuple."""
    return kinds if isinstance(kinds, tuple) else (kinds,)


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    names.update({dict: "object", type(None): "null"})
    return names.get(type(value), type(value).__name__)


def did_you_mean(name: str, among: Iterable[str]) -> str:
    """``" (did you mean 'label'?)"`` when ``name`` looks like a typo of one of ``among``
    (``gateway.catalog.close_matches``), else ``""``: the one wording of a suggestion, for
    request fields and template variables alike."""
    matches = close_matches(name, among)
    return f" (did you mean '{matches[0]}'?)" if matches else ""
