"""The Jinja2 environment templates run in. Pure: no Django.

An immutable sandbox with strict undefined and a fixed whitespace policy, plus
bounds on the operations that could allocate huge values in a single C call
(``"x" * 10**9``, ``10**10**10``, ``"%09999999d" % 1``, ``center(10**9)``),
which no wall-clock limit can interrupt. Loops are bounded by the deadline of
``deadline.py``; output size by the renderer.
"""

from __future__ import annotations

import re
import string
import uuid
from datetime import UTC, datetime
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.filters import do_center, do_format, do_indent, do_replace
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_VALUE_CHARS = 2_000_000  # largest string or list one operation may build
MAX_INT_BITS = 100_000  # largest integer one operation may build
MAX_INT_ARGUMENT = 100_000
MAX_RANGE = 100_000
FORMAT_WIDTH_RE = re.compile(r"%[-+ #0]*(\d+)?(?:\.(\d+))?")

# Template constructs whose value changes from call to call: allowed after the last
# checkpoint, rejected by lint before it.
NONDETERMINISTIC_GLOBALS = {"now": "the clock", "uuid": "a random uuid"}
NONDETERMINISTIC_FILTERS = {"random": "a random choice"}


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def _check_format_widths(template: str) -> None:
    for match in FORMAT_WIDTH_RE.finditer(template):
        for number in match.groups():
            if number is not None and int(number) > MAX_INT_ARGUMENT:
                raise SecurityError(
                    f"format width {number} is over the limit of {MAX_INT_ARGUMENT}"
                )


def _check_format_specs(template: str) -> None:
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # str.format will report the malformed string itself
    for _, _, spec, _ in fields:
        for number in re.findall(r"\d+", spec or ""):
            if int(number) > MAX_INT_ARGUMENT:
                raise SecurityError(
                    f"format width {number} is over the limit of {MAX_INT_ARGUMENT}"
                )


def _check_replace(value: Any, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(value, str) and isinstance(old, str) and isinstance(new, str):
        hits = value.count(old) if count is None or count < 0 else min(count, value.count(old))
        if len(value) + hits * len(new) > MAX_VALUE_CHARS:
            raise SecurityError("replace would build a value over the size limit")


def _bounded_int(value: Any, what: str) -> None:
    if isinstance(value, int) and abs(value) > MAX_INT_ARGUMENT:
        raise SecurityError(f"{what} {value} is over the limit of {MAX_INT_ARGUMENT}")


def _now() -> datetime:
    return datetime.now(UTC)


def _uuid() -> str:
    return str(uuid.uuid4())


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SecurityError(f"range of {len(result)} items is over the limit of {MAX_RANGE}")
    return result


def _safe_center(value: str, width: int = 80) -> str:
    _bounded_int(width, "center width")
    return do_center(value, width)


def _safe_indent(value: str, width: int | str = 4, *args: Any, **kwargs: Any) -> str:
    _bounded_int(width, "indent width")
    if isinstance(width, str) and len(width) > 1000:
        raise SecurityError("indent string is over 1000 characters")
    return do_indent(value, width, *args, **kwargs)


def _safe_format(value: str, *args: Any, **kwargs: Any) -> str:
    _check_format_widths(str(value))
    return do_format(value, *args, **kwargs)


def _safe_replace(eval_ctx: Any, value: str, old: str, new: str, count: int | None = None) -> str:
    _check_replace(str(value), old, new, count)
    return do_replace(eval_ctx, value, old, new, count)


_safe_replace.jinja_pass_arg = do_replace.jinja_pass_arg  # type: ignore[attr-defined]


class CachetSandbox(ImmutableSandboxedEnvironment):
    """Immutable sandbox that also bounds size-amplifying operators and calls."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    _size(sequence)
                    and isinstance(count, int)
                    and _size(sequence) * count > MAX_VALUE_CHARS
                ):
                    raise SecurityError(f"repeating a value {count} times is over the size limit")
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() + right.bit_length() > MAX_INT_BITS
            ):
                raise SecurityError("product is over the integer size limit")
        elif operator == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and left.bit_length() * right > MAX_INT_BITS
            ):
                raise SecurityError("power is over the integer size limit")
        elif operator == "%" and isinstance(left, str):
            _check_format_widths(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        for value in (*args, *kwargs.values()):
            _bounded_int(value, "argument")
        name = getattr(__obj, "__name__", "")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and name == "replace":
            _check_replace(owner, *args, **kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format_specs(value.__self__)
        return wrapped

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # expandtabs multiplies every tab by its argument in one C call.
        if isinstance(obj, str) and attr == "expandtabs":
            return False
        return super().is_safe_attribute(obj, attr, value)


def make_environment() -> CachetSandbox:
    """Build the one environment every template is compiled in."""
    env = CachetSandbox(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=False,
        newline_sequence="\n",
        auto_reload=False,
        cache_size=0,  # compiled templates are cached per content_hash by the renderer
    )
    env.globals.pop("lipsum")  # random text of unbounded size; no use in a prompt
    env.globals.update(range=_safe_range, now=_now, uuid=_uuid)
    env.filters.update(
        center=_safe_center, indent=_safe_indent, format=_safe_format, replace=_safe_replace
    )
    return env


ENV = make_environment()
GLOBAL_NAMES = frozenset(ENV.globals)


def parse(source: str) -> nodes.Template:
    """Parse template source into a Jinja AST (raises ``TemplateSyntaxError``)."""
    return ENV.parse(source)
