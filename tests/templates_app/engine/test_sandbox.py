"""The template sandbox and the render limits (docs/architecture.md, "The guarantees", 4).

Template code cannot reach Python internals, settings, the environment or files;
it cannot change the values it is given; and a runaway loop, a giant output or a
size-amplifying operation is a clear 400 within seconds, never a hung worker.

Every template goes through the real path: ``compile_body`` then ``render``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from templates_app.engine import rendering
from templates_app.engine.errors import CachetError, RenderError, RenderLimitError
from tests.factories import make_body

ENV_NAME = "CACHET_TEST_SECRET"
ENV_CANARY = "s3cr3t-canary-value"
FILE_CANARY = "file-canary-c0ntents-91f3"
# What Python object reprs and well-known files look like when they leak into output.
REPR_MARKERS = ("<class", "<module", "<function", "subprocess", "posix", "root:x:0:0")
TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", list: "array", dict: "object"}

FAST_SECONDS = 0.5
WALL_LIMIT = 5.0  # generous for shared CI machines; a render that is not stopped takes minutes
QUICK = 2.0  # a refused single operation, or a limit hit, well within this

RUNAWAY = "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}"
SILENT_RUNAWAY = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
NORMAL = "Hello {{ name }}: {% for i in range(3) %}{{ i }}{% endfor %}"


def body_with(user_text: str, values: dict[str, Any], system_text: str = "You help.") -> dict:
    """A body whose user message is ``user_text``, declaring one variable per value."""
    variables = {name: {"type": TYPE_NAMES[type(value)]} for name, value in values.items()}
    return make_body(
        variables=variables,
        messages=[
            {"role": "system", "content": system_text},
            {"role": "user", "content": user_text},
        ],
    )


# The limits render_text passes; fixtures narrow them for one test.
IN_USE = {"limits": rendering.DEFAULT_LIMITS}


def render_text(user_text: str, **values: Any) -> str:
    """Render ``user_text`` as the user message and return what it rendered to."""
    compiled = rendering.compile_body(body_with(user_text, values))
    result = rendering.render(compiled, values, limits=IN_USE["limits"])
    return result.request.messages[-1].content


def spin(seconds: float) -> int:
    """Run Python bytecode for ``seconds``, so a pending async exception would surface."""
    end = time.monotonic() + seconds
    turns = 0
    while time.monotonic() < end:
        turns += 1
    return turns


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


def in_thread(fn: Callable[[], Any], start: threading.Barrier | None = None) -> tuple:
    """Start ``fn`` in a new thread; returns the thread and the outcome it will fill in."""
    outcome = Outcome()

    def run() -> None:
        if start is not None:
            start.wait()
        try:
            outcome.value = fn()
        except BaseException as exc:  # the test inspects whatever happened
            outcome.error = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@dataclass
class Secrets:
    path: str
    markers: tuple[str, ...]

    def leaks(self, output: str) -> list[str]:
        return [marker for marker in self.markers if marker in output]


@pytest.fixture
def secrets(monkeypatch, tmp_path) -> Secrets:
    """A canary environment variable and file, and every string that must never be rendered."""
    monkeypatch.setenv(ENV_NAME, ENV_CANARY)
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(f"{FILE_CANARY}\n")
    assert len(settings.SECRET_KEY) >= 20
    return Secrets(
        path=str(secret_file),
        markers=(settings.SECRET_KEY, ENV_CANARY, FILE_CANARY, *REPR_MARKERS),
    )


@pytest.fixture
def fast_limits(monkeypatch) -> None:
    monkeypatch.setitem(IN_USE, "limits", rendering.Limits(seconds=FAST_SECONDS))


# --- Injection payloads ---------------------------------------------------------------------

# Variables every payload may use: name (a string), items (an array), obj (an object) and
# path (the path of the canary file).
SSTI_PAYLOADS = [
    # Walks from a literal to object.__subclasses__() and on to os / subprocess.
    ("str mro subclasses", "{{ ''.__class__.__mro__[1].__subclasses__() }}"),
    ("str mro 2 subclasses", "{{ ''.__class__.__mro__[2].__subclasses__() }}"),
    ("tuple base subclasses", "{{ ().__class__.__base__.__subclasses__() }}"),
    ("list base subclasses", "{{ [].__class__.__base__.__subclasses__() }}"),
    ("dict bases subclasses", "{{ {}.__class__.__bases__[0].__subclasses__() }}"),
    ("int base subclasses", "{{ (1).__class__.__base__.__subclasses__() }}"),
    ("dict global base", "{{ dict.__base__.__subclasses__() }}"),
    ("mro method", "{{ ''.__class__.mro()[1].__subclasses__() }}"),
    ("variable class", "{{ name.__class__ }}"),
    ("variable class base", "{{ items.__class__.__base__ }}"),
    ("variable init globals", "{{ obj.__class__.__init__.__globals__ }}"),
    (
        "subclass popen",
        "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{% if c.__name__ == 'Popen' %}"
        "{{ c(['id'], stdout=-1).communicate() }}{% endif %}{% endfor %}",
    ),
    (
        "subclass warnings catch_warnings",
        "{% for c in [].__class__.__base__.__subclasses__() %}"
        "{% if c.__name__ == 'catch_warnings' %}"
        "{{ c()._module.__builtins__['__import__']('os').environ }}{% endif %}{% endfor %}",
    ),
    # __globals__ of the functions and classes the environment provides.
    ("cycler globals os", "{{ cycler.__init__.__globals__.os.popen('id').read() }}"),
    ("joiner globals environ", "{{ joiner.__init__.__globals__.os.environ }}"),
    (
        "namespace globals environ",
        "{{ namespace.__init__.__globals__.os.environ['CACHET_TEST_SECRET'] }}",
    ),
    ("range globals", "{{ range.__globals__ }}"),
    ("dict init globals", "{{ dict.__init__.__globals__ }}"),
    ("now globals builtins", "{{ now.__globals__['__builtins__']['open'](path).read() }}"),
    ("uuid globals uuid os", "{{ uuid.__globals__.uuid.os.environ }}"),
    (
        "cycler builtins import",
        "{{ cycler.__init__.__globals__.__builtins__.__import__('os').environ }}",
    ),
    ("lipsum globals os", "{{ lipsum.__globals__['os'].popen('id').read() }}"),
    ("url_for globals app config", "{{ url_for.__globals__['current_app'].config }}"),
    (
        "get_flashed_messages globals",
        "{{ get_flashed_messages.__globals__['current_app'].config }}",
    ),
    ("filter function globals", "{{ (items|map('string')).gi_frame.f_globals }}"),
    ("filter generator code", "{{ (items|select).gi_code }}"),
    # The template's own context.
    ("self init globals", "{{ self.__init__.__globals__.__builtins__.open(path).read() }}"),
    ("self private context", "{{ self._TemplateReference__context }}"),
    (
        "self context environment",
        "{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}",
    ),
    ("self dict", "{{ self.__dict__ }}"),
    (
        "loop class globals",
        "{% for x in items %}{{ loop.__class__.__init__.__globals__ }}{% endfor %}",
    ),
    ("loop private iterator", "{% for x in items %}{{ loop._iterator }}{% endfor %}"),
    # Names a Flask or Django app would put in the context.
    ("config", "{{ config }}"),
    ("config items", "{{ config.items() }}"),
    ("config from_envvar", "{{ config.__class__.from_envvar.__globals__ }}"),
    ("settings secret key", "{{ settings.SECRET_KEY }}"),
    ("request environ", "{{ request.environ }}"),
    (
        "request application import",
        "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    ),
    ("os environ", "{{ os.environ }}"),
    ("environ", "{{ environ }}"),
    ("lipsum", "{{ lipsum(1) }}"),
    ("url_for", "{{ url_for('index') }}"),
    ("get_flashed_messages", "{{ get_flashed_messages() }}"),
    # Builtins.
    ("builtins", "{{ __builtins__ }}"),
    ("import os", "{{ __import__('os').popen('id').read() }}"),
    ("open etc passwd", "{{ open('/etc/passwd').read() }}"),
    ("open canary file", "{{ open(path).read() }}"),
    ("eval", "{{ eval('1 + 1') }}"),
    ("exec", "{{ exec('import os') }}"),
    ("globals call", "{{ globals() }}"),
    ("getattr builtin", "{{ getattr(name, '__class__') }}"),
    ("vars", "{{ vars() }}"),
    # attr filter, subscripts and escaped attribute names.
    ("attr filter class", "{{ ''|attr('__class__') }}"),
    (
        "attr filter chain",
        "{{ ((''|attr('__class__')|attr('__mro__'))[1]|attr('__subclasses__'))() }}",
    ),
    ("attr hex escaped", r"{{ ''|attr('\x5f\x5fclass\x5f\x5f') }}"),
    ("attr unicode escaped", r"{{ ''|attr('\u005f\u005fclass\u005f\u005f') }}"),
    ("subscript hex escaped", r"{{ ''['\x5f\x5fclass\x5f\x5f'] }}"),
    ("subscript concatenated", "{{ ''['__cla' ~ 'ss__'] }}"),
    ("attr joined name", "{{ ''|attr(['_', '_class_', '_']|join) }}"),
    (
        "request attr hex globals",
        r"{{ request|attr('application')|attr('\x5f\x5fglobals\x5f\x5f') }}",
    ),
    (
        "attr of variable chain",
        "{{ name|attr('__class__')|attr('__base__')|attr('__subclasses__') }}",
    ),
    ("attr call class", "{{ ('x'|attr('__class__'))('y') }}"),
    ("subscript request globals", "{{ request['application']['__globals__'] }}"),
    # str.format, % and the format filter.
    ("str format class", "{{ '{0.__class__}'.format(name) }}"),
    ("str format mro", "{{ '{0.__class__.__mro__}'.format(name) }}"),
    ("str format cycler globals", "{{ '{0.__init__.__globals__}'.format(cycler) }}"),
    ("str format range globals", "{{ ('{0.' ~ '__globals__}').format(range) }}"),
    ("str format subscript dunder", "{{ '{0[__class__]}'.format(obj) }}"),
    ("str format_map", "{{ '{x.__class__}'.format_map({'x': name}) }}"),
    ("attr format bypass", "{{ ('{0.__class__.__mro__}'|attr('format'))(name) }}"),
    ("attr format self context", "{{ ('{0._TemplateReference__context}'|attr('format'))(self) }}"),
    ("attr format_map", "{{ ('{x.__class__}'|attr('format_map'))({'x': name}) }}"),
    ("percent class", "{{ '%s' % name.__class__ }}"),
    ("format filter class", "{{ '%s'|format(name.__class__) }}"),
    ("format filter braces", "{{ '{0.__class__}'|format(name) }}"),
    # Assignments, namespaces, macros and callers.
    ("set class", "{% set x = ''.__class__ %}{{ x }}"),
    ("set built name", "{% set u = '_' * 2 %}{{ ''|attr(u ~ 'class' ~ u) }}"),
    ("set alias cycler", "{% set c = cycler %}{{ c.__init__.__globals__ }}"),
    ("with class", "{% with a = ''.__class__ %}{{ a }}{% endwith %}"),
    (
        "namespace dunder assignment",
        "{% set ns = namespace() %}{% set ns.__class__ = 1 %}{{ ns.__class__ }}",
    ),
    (
        "namespace holding cycler",
        "{% set ns = namespace(c=cycler) %}{{ ns.c.__init__.__globals__ }}",
    ),
    ("namespace private attrs", "{% set ns = namespace(a=1) %}{{ ns._Namespace__attrs }}"),
    (
        "macro caller globals",
        "{% macro m() %}{{ caller.__init__.__globals__ }}{% endmacro %}{% call m() %}x{% endcall %}",
    ),
    (
        "macro caller func",
        "{% macro m() %}{{ caller._func.__globals__ }}{% endmacro %}{% call m() %}x{% endcall %}",
    ),
    ("macro environment", "{% macro m() %}{% endmacro %}{{ m._environment }}"),
    ("macro func globals", "{% macro m() %}{% endmacro %}{{ m._func.__globals__ }}"),
    # Loading other templates from the filesystem.
    ("include etc passwd", "{% include '/etc/passwd' %}"),
    ("include relative passwd", "{% include '../../../../../../etc/passwd' %}"),
    ("include canary file", "{% include path %}"),
    ("import canary file", "{% import path as m %}{{ m }}"),
    ("from import canary file", "{% from path import x %}{{ x }}"),
    ("extends canary file", "{% extends path %}"),
    ("import os module", "{% import 'os' as os %}{{ os.environ }}"),
    ("debug tag", "{% debug %}"),
    # Objects the sandbox hands out.
    ("now tzinfo class", "{{ now().tzinfo.__class__ }}"),
    ("now reduce", "{{ now().__reduce__() }}"),
    ("cycler instance class", "{{ cycler('a', 'b').__class__ }}"),
    ("dict items class", "{{ dict(a=1).items().__class__ }}"),
    # Bare reprs of what the environment provides.
    ("self repr", "{{ self }}"),
    ("loop repr", "{% for x in items %}{{ loop }}{% endfor %}"),
    ("generator repr", "{{ items|map('string') }}"),
    ("cycler repr", "{{ cycler }}"),
    ("range repr", "{{ range }}"),
    ("str format repr", "{{ name.format }}"),
]


def test_secrets_are_there_to_be_found_outside_the_sandbox(secrets):
    assert os.environ[ENV_NAME] == ENV_CANARY
    assert FILE_CANARY in Path(secrets.path).read_text()
    assert settings.SECRET_KEY in secrets.markers


@pytest.mark.parametrize(
    "canary",
    [
        pytest.param("secret_key", id="secret key"),
        pytest.param("environment", id="environment variable"),
        pytest.param("file", id="file contents"),
        pytest.param("<class 'str'>", id="class repr"),
        pytest.param("<module 'posix' (built-in)>", id="module repr"),
    ],
)
def test_leak_check_sees_a_canary_rendered_as_a_variable(secrets, canary):
    value = {
        "secret_key": settings.SECRET_KEY,
        "environment": os.environ[ENV_NAME],
        "file": Path(secrets.path).read_text(),
    }.get(canary, canary)

    output = render_text("Leaked: {{ canary }}", canary=value)

    assert secrets.leaks(output)
    assert value.strip() in output


@pytest.mark.parametrize("payload", [pytest.param(p, id=i) for i, p in SSTI_PAYLOADS])
def test_injection_payload_cannot_reach_python_internals(secrets, payload):
    try:
        output = render_text(
            payload, name="world", items=[1, 2, 3], obj={"a": 1}, path=secrets.path
        )
    except CachetError:
        return
    assert not secrets.leaks(output), f"rendered {output[:300]!r}"


def test_payload_list_is_long_and_has_no_duplicates():
    payloads = [p for _, p in SSTI_PAYLOADS]
    assert len(payloads) >= 40
    assert len(set(payloads)) == len(payloads)
    assert len({i for i, _ in SSTI_PAYLOADS}) == len(SSTI_PAYLOADS)


# --- Passed-in values stay unchanged ----------------------------------------------------------

MUTATIONS = [
    ("list append", "{{ items.append(4) }}"),
    ("list append in set", "{% set _ = items.append(4) %}{{ items }}"),
    ("list extend", "{{ items.extend([4, 5]) }}"),
    ("list insert", "{{ items.insert(0, 0) }}"),
    ("list pop", "{{ items.pop() }}"),
    ("list remove", "{{ items.remove(1) }}"),
    ("list sort", "{{ items.sort(reverse=true) }}"),
    ("list reverse", "{{ items.reverse() }}"),
    ("list clear", "{{ items.clear() }}"),
    ("list setitem", "{{ items.__setitem__(0, 9) }}"),
    ("list iadd", "{{ items.__iadd__([4]) }}"),
    ("dict update in set", "{% set _ = obj.update({'a': 2}) %}{{ obj }}"),
    ("dict pop", "{{ obj.pop('a') }}"),
    ("dict popitem", "{{ obj.popitem() }}"),
    ("dict setdefault", "{{ obj.setdefault('b', 2) }}"),
    ("dict clear", "{{ obj.clear() }}"),
    ("dict setitem", "{{ obj.__setitem__('a', 9) }}"),
    ("attribute assignment", "{% set o = obj %}{% set o.a = 2 %}{{ o }}"),
    ("nested list append", "{{ obj.inner.append(4) }}"),
    ("list inside namespace", "{% set ns = namespace(l=items) %}{{ ns.l.append(4) }}"),
    ("attr filter append", "{{ (items|attr('append'))(4) }}"),
]


@pytest.mark.parametrize("payload", [pytest.param(p, id=i) for i, p in MUTATIONS])
def test_template_cannot_mutate_a_passed_in_variable(payload):
    items = [1, 2, 3]
    obj = {"a": 1, "inner": [1]}

    with pytest.raises(RenderError):
        render_text(payload, items=items, obj=obj)

    assert items == [1, 2, 3]
    assert obj == {"a": 1, "inner": [1]}


def test_template_cannot_mutate_a_default_value_shared_by_later_renders():
    body = make_body(
        variables={
            "mutate": {"type": "boolean"},
            "obj": {"type": "object", "default": {"inner": [1]}},
        },
        messages=[
            {"role": "system", "content": "You help."},
            {
                "role": "user",
                "content": "{% if mutate %}{{ obj.inner.append(2) }}{% endif %}"
                "{{ obj.inner|length }}",
            },
        ],
    )
    compiled = rendering.compile_body(body)

    with pytest.raises(RenderError, match="unsafe|not allowed"):
        rendering.render(compiled, {"mutate": True})
    result = rendering.render(compiled, {"mutate": False})

    assert result.request.messages[-1].content == "1"
    assert compiled.body.variables["obj"].default == {"inner": [1]}


# --- Time limit -------------------------------------------------------------------------------


def test_runaway_loop_is_stopped_within_seconds(fast_limits):
    start = time.monotonic()

    with pytest.raises(RenderLimitError, match="took longer than the limit of 0.5 s"):
        render_text(RUNAWAY)

    assert time.monotonic() - start < WALL_LIMIT


def test_runaway_loop_is_a_clear_400_with_the_default_limit():
    assert rendering.DEFAULT_LIMITS.seconds <= 2
    start = time.monotonic()

    with pytest.raises(RenderLimitError) as info:
        render_text(RUNAWAY)

    assert time.monotonic() - start < WALL_LIMIT
    assert info.value.status_code == 400
    assert info.value.type == "render_limit"
    assert "longer than the limit" in info.value.message


def test_loop_without_any_output_is_stopped_too(fast_limits):
    start = time.monotonic()

    with pytest.raises(RenderLimitError, match="took longer"):
        render_text(SILENT_RUNAWAY)

    assert time.monotonic() - start < WALL_LIMIT


def test_loop_swallowing_errors_in_template_code_is_stopped(fast_limits):
    # Jinja has no try/except, but filters catch exceptions internally: the deadline
    # must still get through a loop of calls that fail and are handled.
    template = (
        "{% for i in range(100000) %}{% for j in range(100000) %}"
        "{{ 'x'|int(default=0) }}{% endfor %}{% endfor %}"
    )
    start = time.monotonic()

    with pytest.raises(RenderLimitError):
        render_text(template)

    assert time.monotonic() - start < WALL_LIMIT


def test_string_grown_in_a_loop_without_output_is_stopped(fast_limits):
    template = (
        "{% set ns = namespace(s='') %}{% for i in range(100000) %}{% for j in range(100000) %}"
        "{% set ns.s = (ns.s ~ big)[-5000:] %}{% endfor %}{% endfor %}{{ ns.s|length }}"
    )
    start = time.monotonic()

    with pytest.raises(RenderLimitError):
        render_text(template, big="b" * 1000)

    assert time.monotonic() - start < WALL_LIMIT


def test_same_thread_renders_normally_after_a_timeout(fast_limits):
    with pytest.raises(RenderLimitError):
        render_text(RUNAWAY)

    assert render_text(NORMAL, name="Ada") == "Hello Ada: 012"
    spin(0.2)  # past the old deadline and many watchdog ticks: nothing may be left pending
    assert render_text(NORMAL, name="Ada") == "Hello Ada: 012"


def test_runaway_loop_in_a_worker_thread_is_stopped(fast_limits):
    start = time.monotonic()
    thread, outcome = in_thread(lambda: render_text(RUNAWAY))
    thread.join(timeout=30)

    assert not thread.is_alive()
    assert isinstance(outcome.error, RenderLimitError)
    assert time.monotonic() - start < WALL_LIMIT


def test_concurrent_runaway_renders_stop_while_other_renders_finish(fast_limits):
    rendering.compile_body(body_with(RUNAWAY, {}))
    rendering.compile_body(body_with(NORMAL, {"name": "x"}))

    def normal_renders(who: str) -> list[str]:
        outputs = []
        for _ in range(20):
            outputs.append(render_text(NORMAL, name=who))
            spin(0.01)
        return outputs

    start_together = threading.Barrier(6)
    runaways = [in_thread(lambda: render_text(RUNAWAY), start_together) for _ in range(3)]
    normals = [
        in_thread(lambda who=who: normal_renders(who), start_together)
        for who in ("Ada", "Grace", "Edsger")
    ]
    start = time.monotonic()
    for thread, _ in runaways + normals:
        thread.join(timeout=60)

    assert time.monotonic() - start < WALL_LIMIT
    for thread, outcome in runaways:
        assert not thread.is_alive()
        assert isinstance(outcome.error, RenderLimitError), outcome
    for (thread, outcome), who in zip(normals, ("Ada", "Grace", "Edsger"), strict=True):
        assert not thread.is_alive()
        assert outcome.error is None, outcome.error
        assert outcome.value == [f"Hello {who}: 012"] * 20


# --- Output limit -----------------------------------------------------------------------------


def test_giant_output_is_refused_with_the_limit_named():
    limit = f"{rendering.DEFAULT_LIMITS.max_output_chars:,}"
    start = time.monotonic()

    with pytest.raises(RenderLimitError, match=f"output is over the limit of {limit} characters"):
        render_text("{% for i in range(100000) %}{{ big }}{% endfor %}", big="b" * 1000)

    assert time.monotonic() - start < QUICK


def test_output_exactly_at_the_limit_renders(monkeypatch):
    monkeypatch.setitem(IN_USE, "limits", rendering.Limits(max_output_chars=1000))

    assert render_text("{{ big }}", big="b" * 1000) == "b" * 1000
    with pytest.raises(RenderLimitError, match="over the limit of 1,000 characters"):
        render_text("{{ big }}!", big="b" * 1000)


def test_output_limit_counts_every_field_together(monkeypatch):
    monkeypatch.setitem(IN_USE, "limits", rendering.Limits(max_output_chars=1000))
    body = body_with("{{ big }}", {"big": ""}, system_text="{{ big }}")
    compiled = rendering.compile_body(body)

    limits = IN_USE["limits"]
    assert rendering.render(compiled, {"big": "b" * 500}, limits=limits).request.messages[-1]
    with pytest.raises(RenderLimitError) as info:
        rendering.render(compiled, {"big": "b" * 600}, limits=limits)

    assert info.value.details["path"] == "messages[1].content"


# --- Size-amplifying single operations ----------------------------------------------------------

# Each would build a value of hundreds of megabytes or more in one C call, which no
# wall-clock limit can interrupt; |length keeps the output limit from catching it later.
AMPLIFIERS = [
    ("string times huge int", "{{ ('x' * 1000000000)|length }}"),
    ("huge int times string", "{{ (1000000000 * 'x')|length }}"),
    ("list times huge int", "{{ ([0] * 1000000000)|length }}"),
    ("string times variable", "{{ (name * n)|length }}"),
    ("huge power", "{{ 9 ** 999999999 }}"),
    ("power of variables", "{{ n ** n }}"),
    ("product of huge ints", "{{ (2 ** 60000) * (2 ** 60000) }}"),
    ("percent width", "{{ ('%0999999999d' % 1)|length }}"),
    ("percent precision", "{{ ('%.999999999f' % 1.0)|length }}"),
    ("format filter width", "{{ ('%0999999999d'|format(1))|length }}"),
    ("str format width", "{{ '{:>999999999}'.format(1)|length }}"),
    ("str format zero padding", "{{ '{:0999999999}'.format(1)|length }}"),
    ("str format nested int width", "{{ '{:{}}'.format(1, 999999999)|length }}"),
    ("center filter", "{{ ('x'|center(1000000000))|length }}"),
    ("indent filter", "{{ ('a\nb'|indent(1000000000))|length }}"),
    ("ljust method", "{{ 'x'.ljust(1000000000)|length }}"),
    ("rjust method", "{{ 'x'.rjust(1000000000)|length }}"),
    ("zfill method", "{{ '1'.zfill(1000000000)|length }}"),
    ("center method", "{{ 'x'.center(1000000000)|length }}"),
    ("replace filter", "{{ (('x' * 1000)|replace('x', 'y' * 100000))|length }}"),
    ("replace method", "{{ ('x' * 1000).replace('x', 'y' * 100000)|length }}"),
    ("replace empty string", "{{ (('x' * 100000)|replace('', 'y' * 100))|length }}"),
    ("expandtabs", "{{ ('\t' * 100000).expandtabs(100000)|length }}"),
    ("huge range", "{{ range(1000000000)|list|length }}"),
    # Amplifiers through arguments the checks above do not look at.
    ("percent star width", "{{ ('%*d' % (20000000, 1))|length }}"),
    ("format filter star width", "{{ ('%*d'|format(20000000, 1))|length }}"),
    ("str format nested string width", "{{ '{:{}}'.format(1, '20000000')|length }}"),
    ("str format repeated field", "{{ ('{0}' * 10).format('x' * 2000000)|length }}"),
    ("percent repeated key", "{{ (('%(a)s' * 10) % {'a': 'x' * 2000000})|length }}"),
    ("join filter", "{{ (['x' * 2000000] * 10)|join|length }}"),
    ("str join method", "{{ ('x' * 100000).join(['a'] * 200)|length }}"),
    ("indent with long string", "{{ (('\n' * 20000)|indent(' ' * 1000, blank=true))|length }}"),
    ("batch fill", "{{ range(10)|batch(5000000, 'x')|list|length }}"),
    ("wordwrap wrapstring", "{{ ('a' * 20000)|wordwrap(1, wrapstring='x' * 1000)|length }}"),
    ("tojson indent", "{{ items|tojson(5000000)|length }}"),
    ("string of repeated list", "{{ (['x' * 2000000] * 10)|string|length }}"),
]


@pytest.mark.parametrize("payload", [pytest.param(p, id=i) for i, p in AMPLIFIERS])
def test_size_amplifying_operation_is_refused_quickly(fast_limits, payload):
    start = time.monotonic()

    with pytest.raises(RenderError):
        render_text(payload, name="ab", n=5000000, items=[1, 2])

    assert time.monotonic() - start < QUICK


def test_amplifier_checks_leave_ordinary_sizes_alone():
    template = (
        "{{ ('ab' * 3)|length }} {{ 2 ** 10 }} {{ '%05d' % 42 }} {{ '{:>6}'.format('x') }} "
        "{{ 'x'|center(5) }}|{{ 'a\nb'|indent(2) }} {{ 'abc'|replace('b', 'BB') }} "
        "{{ range(3)|join(',') }} {{ 'x'.ljust(3) }}|"
    )

    assert render_text(template) == "6 1024 00042      x   x  |a\n  b aBBc 0,1,2 x  |"


# --- Slow single operations ---------------------------------------------------------------------

# Bounded in size, but each is one long C call holding the GIL: the watchdog can only
# interrupt the thread once the call is over. Each took 4-5 s where these tests were
# written; the same constructs at the largest sizes the sandbox allows run far longer.
SLOW_OPERATIONS = [
    (
        "sum of big integers",
        "{% set big = (2 ** 49999) * (2 ** 49999) %}{{ ([big] * 2000000)|sum > 0 }}",
    ),
    (
        "membership in repeated string",
        "{% set a = 'x' * 2000000 %}{% set b = 'x' * 1999999 ~ 'y' %}{{ b in [a] * 100000 }}",
    ),
]


@pytest.mark.parametrize("payload", [pytest.param(p, id=i) for i, p in SLOW_OPERATIONS])
def test_single_slow_operation_is_stopped_within_the_limit(fast_limits, payload):
    start = time.monotonic()

    with pytest.raises(RenderError):
        render_text(payload)

    assert time.monotonic() - start < FAST_SECONDS + QUICK


# --- Recursion ----------------------------------------------------------------------------------

RECURSIONS = [
    ("macro calls itself", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"),
    (
        "macros call each other",
        "{% macro f() %}{{ g() }}{% endmacro %}{% macro g() %}{{ f() }}{% endmacro %}{{ f() }}",
    ),
    ("recursive loop", "{% for x in items recursive %}{{ loop(items) }}{% endfor %}"),
    (
        "macro with caller",
        "{% macro f() %}{% call f() %}{{ caller() }}{% endcall %}{% endmacro %}{{ f() }}",
    ),
]


@pytest.mark.parametrize("payload", [pytest.param(p, id=i) for i, p in RECURSIONS])
def test_infinite_recursion_is_a_render_error_not_a_crash(fast_limits, payload):
    with pytest.raises(RenderError):
        render_text(payload, items=[1])


def test_infinite_recursion_in_a_worker_thread_is_a_render_error(fast_limits):
    thread, outcome = in_thread(
        lambda: render_text("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
    )
    thread.join(timeout=30)

    assert isinstance(outcome.error, RenderError)
    assert render_text(NORMAL, name="Ada") == "Hello Ada: 012"


# --- Growth by repetition -----------------------------------------------------------------------

GROWTH = [
    (
        "namespace doubling",
        "{% set ns = namespace(s='x' * 1000000) %}"
        "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    ),
    (
        "macro argument doubling",
        "{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('x' * 1000000) }}",
    ),
    ("list concatenation", "{% set a = ['x' * 1000000] * 4 %}{{ (a + a + a)|length }}"),
]


@pytest.mark.parametrize("payload", [pytest.param(p, id=i) for i, p in GROWTH])
def test_values_grown_by_repetition_stop_at_the_size_limit(fast_limits, payload):
    start = time.monotonic()

    with pytest.raises(RenderError, match="size limit"):
        render_text(payload)

    assert time.monotonic() - start < QUICK


# --- What a template may print ---------------------------------------------------------------

# Values whose printed form would be the repr of an object of the template machinery.
UNPRINTABLE = [
    ("self", "{{ self }}"),
    ("self as text", "{{ self|string }}"),
    ("self concatenated", "{{ 'x' ~ self }}"),
    ("self formatted", "{{ '%s' % self }}"),
    ("self str.format", "{{ '{}'.format(self) }}"),
    ("self joined", "{{ [self]|join }}"),
    ("self pretty-printed", "{{ self|pprint }}"),
    ("loop", "{% for i in items %}{{ loop }}{% endfor %}"),
    ("range", "{{ range }}"),
    ("a range", "{{ range(3) }}"),
    ("cycler", "{{ cycler }}"),
    ("a cycler", "{{ cycler(1, 2) }}"),
    ("a joiner", "{{ joiner() }}"),
    ("namespace", "{{ namespace }}"),
    ("a namespace", "{{ namespace() }}"),
    ("a namespace in a list", "{{ [namespace()] }}"),
    ("a function in an object", "{{ {'f': range} }}"),
    ("dict items", "{{ obj.items() }}"),
    ("dict keys", "{{ obj.keys() }}"),
    ("groupby tuples", "{{ items|groupby('a') }}"),
    ("a macro", "{% macro m() %}x{% endmacro %}{{ m }}"),
]


@pytest.mark.parametrize("source", [s for _, s in UNPRINTABLE], ids=[n for n, _ in UNPRINTABLE])
def test_no_template_object_prints_itself(source):
    with pytest.raises(RenderError) as caught:
        render_text(source, items=[{"a": 1}], obj={"k": "v"})

    assert caught.value.details["path"] == "messages[1].content"
    assert "cannot be printed" in caught.value.message
    assert "messages[1].content" in caught.value.message


# Printable values and how they print: unchanged by the check.
PRINTABLE = [
    ("{{ name }}", "Ada"),
    ("{{ 3 }} {{ 1.5 }} {{ true }} {{ none }}", "3 1.5 True None"),
    ("{{ items }}", "[1, 'two', None]"),
    ("{{ obj }}", "{'k': [1, {'n': None}]}"),
    ("{{ obj|dictsort }}", "[('k', [1, {'n': None}])]"),
    ("{{ (1, 2) }}", "(1, 2)"),
    ("{{ 'x' ~ 1 ~ none }}", "x1None"),
    ("{{ '%s-%d' % (name, 2) }}", "Ada-2"),
    ("{{ '{}!'.format(name) }}", "Ada!"),
    ("{{ items|join(',') }}", "1,two,None"),
    ("{{ items|string }}", "[1, 'two', None]"),
    ("{% for i in range(3) %}{{ loop.index }}{% endfor %}", "123"),
    ("{% set ns = namespace(n=2) %}{{ ns.n }}", "2"),
    ("{{ cycler('a', 'b').next() }}", "a"),
]


@pytest.mark.parametrize("source, expected", PRINTABLE)
def test_data_values_print_as_before(source, expected):
    assert (
        render_text(source, name="Ada", items=[1, "two", None], obj={"k": [1, {"n": None}]})
        == expected
    )


def test_the_clock_still_prints_after_the_last_checkpoint():
    assert render_text("{{ now().year }} {{ now().date() }}")[:2] == "20"


def test_lipsum_is_not_there_to_print():
    with pytest.raises(RenderError, match="'lipsum' is undefined"):
        render_text("{{ lipsum }}")


def test_an_undefined_attribute_is_named_not_called_a_function():
    with pytest.raises(RenderError) as caught:
        render_text("{{ obj.missing }}", obj={"k": "v"})

    assert "missing" in caught.value.message
    assert "function" not in caught.value.message
