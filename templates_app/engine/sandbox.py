"""The Jinja2 environment templates run in. Pure: no Django.

An immutable sandbox with strict undefined and a fixed whitespace policy. Loops
are bounded by the wall-clock deadline of ``deadline.py`` and output by the
renderer, but the deadline cannot interrupt a single C call (``"x" * 10**9``,
``"%0999999999d" % 1``, ``big in [big] * 10**5``): the watchdog only gets the
interpreter back when the call returns. So every operation that could build or
scan a huge value in one call is checked *before* it runs against an
approximate size (``weight``), and every value that crosses into template code
(call results, filter results, namespace attributes) is checked after. No value
a template builds can exceed ``MAX_VALUE_CHARS``.

What a template prints is data: text, numbers, booleans, none, the clock's dates, and
lists and objects of those (``printable``). Nothing else may print itself, for its repr
leaks internals: not a function, class or module, and not an object of the template
machinery (``{{ self }}``, ``{{ loop }}``, ``{{ range(3) }}``, ``{{ namespace() }}``,
``{{ d.items() }}``). The check runs on every way a value becomes text: output, ``~``,
``%``, ``str.format``, ``|string``, ``|pprint`` and ``|join``.
"""

from __future__ import annotations

import functools
import re
import string
import types
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import do_format, sync_do_join
from jinja2.nodes import EvalContext
from jinja2.runtime import Namespace
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_VALUE_CHARS = 8_000_000  # about two million tokens: more than any model's context
MAX_INT_BITS = 100_000  # largest integer one operation may build
MAX_INT_ARGUMENT = 100_000  # largest width, count or size a call may be asked for
MAX_RANGE = 100_000
PERCENT_SPEC_RE = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")

# Template constructs whose value changes from call to call: allowed after the last
# checkpoint, rejected by lint before it.
NONDETERMINISTIC_GLOBALS = {"now": "the clock", "uuid": "a random uuid"}
NONDETERMINISTIC_FILTERS = {"random": "a random choice"}


def weight(value: Any, budget: int = MAX_VALUE_CHARS) -> int:
    """Approximate size of ``value`` in characters, counted only until it passes ``budget``."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, dict):
            total += len(item) + 1
            if total <= budget:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item) + 1
            if total <= budget:
                stack.extend(item)
        else:
            total += 8
        if total > budget:
            return total
    return total


def _refuse_size(size: int, what: str) -> None:
    if size > MAX_VALUE_CHARS:
        raise SecurityError(
            f"{what} would be over the size limit of {MAX_VALUE_CHARS:,} characters"
        )


def _bounded_int(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT_ARGUMENT:
        raise SecurityError(f"{what} {value} is over the limit of {MAX_INT_ARGUMENT:,}")


def _check_percent(template: str, args: Any) -> None:
    specs = PERCENT_SPEC_RE.findall(template)
    for width, precision in specs:
        for number in (width, precision):
            if number == "*":
                raise SecurityError("a '*' width or precision is not allowed in templates")
            if number and int(number) > MAX_INT_ARGUMENT:
                raise SecurityError(
                    f"format width {number} is over the limit of {MAX_INT_ARGUMENT:,}"
                )
    _refuse_size(len(template) + len(specs) * weight(args), "formatting")


def _check_str_format(template: str, args: tuple, kwargs: dict) -> None:
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # str.format reports the malformed string itself
    for _, _, spec, _ in fields:
        if spec and "{" in spec:
            raise SecurityError("nested replacement fields in a format spec are not allowed")
        for number in re.findall(r"\d+", spec or ""):
            if int(number) > MAX_INT_ARGUMENT:
                raise SecurityError(
                    f"format width {number} is over the limit of {MAX_INT_ARGUMENT:,}"
                )
    named = sum(1 for _, name, _, _ in fields if name is not None)
    _refuse_size(len(template) + named * weight((args, kwargs)), "formatting")


def _check_replace(value: Any, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(value, str) and isinstance(old, str) and isinstance(new, str):
        hits = value.count(old) if count is None or count < 0 else min(count, value.count(old))
        _refuse_size(len(value) + hits * len(new), "replace")


def _check_join(separator: Any, items: Any) -> None:
    if isinstance(items, list | tuple | str) and isinstance(separator, str):
        _refuse_size(weight(items) + len(items) * len(separator), "join")


def _refuse_callable(value: Any) -> Any:
    if isinstance(
        value,
        type
        | types.ModuleType
        | types.FunctionType
        | types.MethodType
        | types.BuiltinFunctionType
        | types.GeneratorType,
    ) or callable(value):
        raise SecurityError("a function, class or module cannot be printed")
    return value


# What a template may print, and what lists and objects of it may hold.
PRINTABLE_SCALARS = (str, int, float, bool, type(None), date, clock_time)
PRINTABLE_CONTAINERS = (list, tuple, dict)


def printable(value: Any) -> Any:
    """``value`` unchanged when its printed form is data; otherwise ``SecurityError``
    naming what it is (or ``UndefinedError`` for an undefined value, naming that)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Undefined):
            str(item)  # StrictUndefined raises the UndefinedError that names it
        if isinstance(item, PRINTABLE_SCALARS):
            continue
        if type(item) in PRINTABLE_CONTAINERS:
            stack.extend(item.items() if isinstance(item, dict) else item)
            continue
        _refuse_callable(item)
        raise SecurityError(
            f"a {type(item).__name__} object cannot be printed (a template prints text, "
            "numbers, booleans, none, and lists and objects of them)"
        )
    return value


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Any, d: str = "", attribute: Any = None) -> str:
    """``|join``, with every item it prints checked by ``printable``."""
    items = value if isinstance(value, str) else list(value)
    if attribute is None:
        printable(items)
    return sync_do_join(eval_ctx, items, d, attribute)


class CachetCodeGenerator(CodeGenerator):
    """Jinja's code generator, with each operand of ``~`` checked by ``printable``."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            func_name = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            func_name = "markup_join"
        else:
            func_name = "str_join"
        self.write(f"{func_name}((")
        for arg in node.nodes:
            self.write("environment.printable(")
            self.visit(arg, frame)
            self.write("), ")
        self.write("))")


def _now() -> datetime:
    return datetime.now(UTC)


def _uuid() -> str:
    return str(uuid.uuid4())


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SecurityError(f"range of {len(result):,} items is over the limit of {MAX_RANGE:,}")
    return result


class BoundedNamespace(Namespace):
    """``namespace()``: attributes may be reassigned, up to the value size limit."""

    def __setitem__(self, name: str, value: Any) -> None:
        _refuse_size(weight(value), f"namespace attribute {name!r}")
        super().__setitem__(name, value)


def _filter_prechecks() -> dict[str, Callable[..., None]]:
    """Size checks run before a filter, on its value and arguments."""

    def indent(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> None:
        unit = len(width) if isinstance(width, str) else width if isinstance(width, int) else 4
        text = str(value) if isinstance(value, str) else ""
        _refuse_size(len(text) + (text.count("\n") + 1) * unit, "indent")

    def wordwrap(
        value: Any,
        width: int = 79,
        break_long_words: bool = True,
        wrapstring: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        text = value if isinstance(value, str) else ""
        wrap = kwargs.get("wrapstring", wrapstring) or "\n"
        _refuse_size(len(text) + (len(text) // max(int(width), 1) + 1) * len(wrap), "wordwrap")

    def total(value: Any, attribute: Any = None, start: Any = 0) -> None:
        if not isinstance(start, int | float) or isinstance(start, bool):
            raise SecurityError("sum adds numbers only")

    def whole(value: Any, *args: Any, **kwargs: Any) -> None:
        _refuse_callable(value)
        _refuse_size(weight(value), "the value")

    def as_text(value: Any, *args: Any, **kwargs: Any) -> None:
        whole(value)
        printable(value)

    return {
        "indent": indent,
        "wordwrap": wordwrap,
        "sum": total,
        "join": lambda value, d="", *a, **k: _check_join(d, value),
        "replace": lambda value, old, new, count=None: _check_replace(str(value), old, new, count),
        "format": lambda value, *args, **kwargs: _check_percent(str(value), (args, kwargs)),
        "string": as_text,
        "pprint": as_text,
        "tojson": whole,
        "list": whole,
    }


PRECHECKS = _filter_prechecks()


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a filter: bounded integer arguments, its precheck, and a bounded result."""
    offset = 1 if getattr(function, "jinja_pass_arg", None) else 0
    precheck = PRECHECKS.get(name)

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        for argument in (*args[offset + 1 :], *kwargs.values()):
            _bounded_int(argument, f"argument of |{name}")
        if precheck is not None:
            precheck(*args[offset:], **kwargs)
        result = function(*args, **kwargs)
        _refuse_size(weight(result), f"the result of |{name}")
        return result

    return guarded


class CachetSandbox(ImmutableSandboxedEnvironment):
    """Immutable sandbox that also bounds what one operation may build or scan, and lets
    only data be printed."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = CachetCodeGenerator
    printable = staticmethod(printable)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for value, count in ((left, right), (right, left)):
                if isinstance(count, int) and not isinstance(value, int | float):
                    _refuse_size(weight(value) * max(count, 0), f"repeating a value {count} times")
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
            _check_percent(left, right)
            printable(right)
        elif operator == "+" and not isinstance(left, int | float):
            _refuse_size(weight(left) + weight(right), "concatenation")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        for value in (*args, *kwargs.values()):
            _bounded_int(value, "argument")
        _refuse_size(weight((args, kwargs)), "the arguments")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name == "replace":
                _check_replace(owner, *args, **kwargs)
            elif name == "join" and args:
                _check_join(owner, args[0])
        result = super().call(__context, __obj, *args, **kwargs)
        _refuse_size(weight(result), "the result")
        return result

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_str_format(template, args, kwargs)
            printable((args, kwargs))
            return wrapped(*args, **kwargs)

        return checked

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
        finalize=printable,
    )
    env.globals.pop("lipsum")  # random text of unbounded size; no use in a prompt
    env.globals.update(range=_safe_range, now=_now, uuid=_uuid, namespace=BoundedNamespace)
    env.filters["format"] = do_format
    env.filters["join"] = _join
    env.filters = {name: _guard_filter(name, f) for name, f in env.filters.items()}
    return env


ENV = make_environment()
GLOBAL_NAMES = frozenset(ENV.globals)


def parse(source: str) -> nodes.Template:
    """Parse template source into a Jinja AST (raises ``TemplateSyntaxError``)."""
    return ENV.parse(source)
