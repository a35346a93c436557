"""Collecting validation problems with their paths. Pure."""

from __future__ import annotations

from typing import Any


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
