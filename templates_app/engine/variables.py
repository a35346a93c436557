"""Variable declarations of a body, and checking values against them. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .validation import Checker, json_type

VARIABLE_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
VARIABLE_KEYS = ("type", "required", "default", "enum", "max_length", "description", "per_request")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Names Jinja or the template environment already gives a meaning to.
RESERVED_NAMES = frozenset(
    {
        *("loop", "self", "caller", "varargs", "kwargs"),
        *("true", "false", "none", "True", "False", "None"),
        *("range", "dict", "lipsum", "cycler", "joiner", "namespace", "now", "uuid"),
    }
)
MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class VariableSpec:
    """A declared variable; ``default`` is ``MISSING`` when none was given."""

    name: str
    type: str
    required: bool
    default: Any = MISSING
    enum: tuple[Any, ...] | None = None
    max_length: int | None = None
    per_request: bool = False


def parse_variables(raw: Any, check: Checker) -> dict[str, VariableSpec]:
    if not check.expect(raw, dict, "variables", "an object"):
        return {}
    specs = {}
    for name, spec in raw.items():
        path = f"variables.{name}"
        if not NAME_RE.match(name):
            check.fail(path, "a variable name is letters, digits and _, not starting with a digit")
        elif name in RESERVED_NAMES:
            check.fail(path, f"'{name}' is reserved by the template language")
        elif check.expect(spec, dict, path, "an object"):
            parsed = _parse_variable(name, spec, path, check)
            if parsed is not None:
                specs[name] = parsed
    return specs


def _parse_variable(
    name: str, spec: dict[str, Any], path: str, check: Checker
) -> VariableSpec | None:
    for key in spec:
        if key not in VARIABLE_KEYS:
            check.fail(f"{path}.{key}", f"unknown key (allowed: {', '.join(VARIABLE_KEYS)})")
    kind = spec.get("type", "string")
    if kind not in VARIABLE_TYPES:
        check.fail(f"{path}.type", f"must be one of {', '.join(VARIABLE_TYPES)}")
        return None
    for flag in ("required", "per_request"):
        if flag in spec:
            check.expect(spec[flag], bool, f"{path}.{flag}", "a boolean")
    max_length = spec.get("max_length")
    if max_length is not None:
        if kind not in ("string", "array"):
            check.fail(f"{path}.max_length", "applies to string and array variables only")
        elif check.expect(max_length, int, f"{path}.max_length", "an integer") and max_length < 1:
            check.fail(f"{path}.max_length", "must be at least 1")
    enum = spec.get("enum")
    if enum is not None and check.expect(enum, list, f"{path}.enum", "a list") and not enum:
        check.fail(f"{path}.enum", "must not be empty")
    variable = VariableSpec(
        name=name,
        type=kind,
        required=spec.get("required", "default" not in spec) is True,
        default=spec.get("default", MISSING),
        enum=tuple(enum) if isinstance(enum, list) else None,
        max_length=max_length
        if isinstance(max_length, int) and kind in ("string", "array")
        else None,
        per_request=spec.get("per_request") is True,
    )
    for item_path, message in value_problems(variable, variable.default, check_enum=False):
        check.fail(f"{path}.default{item_path}", message)
    for index, item in enumerate(variable.enum or ()):
        for _, message in value_problems(variable, item, check_enum=False):
            check.fail(f"{path}.enum[{index}]", message)
    if variable.default is not MISSING and variable.enum and variable.default not in variable.enum:
        check.fail(f"{path}.default", "is not one of the enum values")
    return variable


def value_problems(
    spec: VariableSpec, value: Any, *, check_enum: bool = True
) -> list[tuple[str, str]]:
    """Problems of ``value`` against ``spec`` as ``(sub-path, message)``; empty when it fits."""
    if value is MISSING:
        return []
    kinds = VARIABLE_TYPES[spec.type]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        return [
            (
                "",
                f"must be {'an' if spec.type[0] in 'aeio' else 'a'} {spec.type}, "
                f"got {json_type(value)}",
            )
        ]
    if spec.max_length is not None and len(value) > spec.max_length:
        unit = "characters" if spec.type == "string" else "items"
        return [("", f"is {len(value)} {unit} long, over max_length {spec.max_length}")]
    if check_enum and spec.enum is not None and value not in spec.enum:
        return [("", f"must be one of {json.dumps(list(spec.enum), ensure_ascii=False)}")]
    return []
