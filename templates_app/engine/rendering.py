"""Render a template body into a canonical request. Pure: no ORM, no settings.

``compile_body`` validates a body and compiles each of its Jinja text fields once;
compiled bodies are cached per ``content_hash`` (versions are immutable, so the
cache never needs invalidating). ``render`` checks the variables, renders every
field inside the sandbox under a wall-clock and an output-size limit, and returns
the request with one fingerprint and one token estimate per checkpoint
(``engine/checkpoints.py``). Its steps (``prepare``, ``render_fields``, ``finish``) are
public so that ``engine/splice.py`` can reuse a prefix rendered before.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from jinja2 import Template, TemplateError, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.sandbox import SecurityError

from gateway.catalog import ModelProfile, get_profile
from gateway.tokens import ESTIMATE_METHOD, estimate_method
from gateway.types import ChatRequest, Message, prefix_request
from gateway.wire import compact_json, image_url, parse_data_url

from .body import Body, parse_body, to_request
from .canonical import content_hash, sort_keys_deep, text_problem
from .checkpoints import (
    CheckpointResult,
    checkpoint_results,
    checkpoint_warnings,
    render_warnings,
)
from .deadline import DeadlineExceeded, call_with_deadline
from .errors import RenderError, RenderLimitError, VariableError
from .sandbox import ENV, GLOBAL_NAMES, NONDETERMINISTIC_FILTERS, NONDETERMINISTIC_GLOBALS
from .validation import did_you_mean
from .variables import MISSING, VariableSpec, value_problems

JINJA_MARKS = ("{{", "{%", "{#")
PATH_TOKEN_RE = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")
COMPILED_CACHE_SIZE = 256


@dataclass(frozen=True)
class Limits:
    """Bounds on one render: wall-clock seconds and characters of output in all fields.

    The caller passes them (the app builds them from its settings, ``services.render_limits``);
    nothing here reads settings or keeps a global the app would overwrite.
    """

    seconds: float = 1.0
    max_output_chars: int = 8_000_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class CompiledBody:
    """A validated body with its Jinja fields parsed and compiled."""

    body: Body
    content_hash: str
    asts: dict[str, nodes.Template]
    templates: dict[str, Template]
    field_variables: dict[str, frozenset[str]]
    syntax_errors: tuple[dict[str, Any], ...]
    prefix_variables: tuple[str, ...]
    suffix_variables: tuple[str, ...]
    prefix_fields: frozenset[str] = frozenset()  # templated fields at or before the last checkpoint
    prefix_deterministic: bool = True  # no clock, uuid or |random in those fields


@dataclass(frozen=True)
class RenderResult:
    """What ``render`` returns: the request and what the caller should know about its caching."""

    request: ChatRequest
    profile: ModelProfile
    checkpoints: tuple[CheckpointResult, ...]
    prefix_variables: tuple[str, ...]
    suffix_variables: tuple[str, ...]
    warnings: tuple[dict[str, str], ...] = field(default=())
    token_method: str = ESTIMATE_METHOD
    variables: dict[str, Any] = field(default_factory=dict)  # resolved: defaults applied


_cache: OrderedDict[str, CompiledBody] = OrderedDict()
_cache_lock = threading.Lock()


def path_keys(path: str) -> tuple[str | int, ...]:
    """``"messages[1].content[0].text"`` → ``("messages", 1, "content", 0, "text")``."""
    return tuple(name or int(index) for name, index in PATH_TOKEN_RE.findall(path))


def body_text(data: dict[str, Any]) -> str:
    """The canonical text a body is stored as."""
    return compact_json(data)


def compile_body(raw: Any) -> CompiledBody:
    """Validate and compile a body; cached per content hash. Raises ``BodyError``."""
    body = parse_body(raw)
    digest = content_hash(body_text(body.data))
    with _cache_lock:
        if digest in _cache:
            _cache.move_to_end(digest)
            return _cache[digest]
    compiled = _compile(body, digest)
    with _cache_lock:
        _cache[digest] = compiled
        while len(_cache) > COMPILED_CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled


def _compile(body: Body, digest: str) -> CompiledBody:
    asts: dict[str, nodes.Template] = {}
    templates: dict[str, Template] = {}
    used: dict[str, frozenset[str]] = {}
    errors = []
    for text_field in body.fields:
        if not any(mark in text_field.source for mark in JINJA_MARKS):
            used[text_field.path] = frozenset()
            continue
        try:
            ast = ENV.parse(text_field.source)
        except TemplateSyntaxError as exc:
            errors.append(
                {
                    "path": text_field.path,
                    "line": exc.lineno,
                    "message": f"template syntax error on line {exc.lineno}: {exc.message}",
                }
            )
            continue
        asts[text_field.path] = ast
        templates[text_field.path] = ENV.from_string(ast)
        used[text_field.path] = frozenset(meta.find_undeclared_variables(ast)) - GLOBAL_NAMES
    prefix = set()
    prefix_fields = set()
    for text_field in body.fields:
        if body.block_index(text_field.block) <= body.prefix_end:
            prefix |= used.get(text_field.path, frozenset())
            if text_field.path in templates:
                prefix_fields.add(text_field.path)
    everything = set(body.variables).union(*used.values())
    return CompiledBody(
        body=body,
        content_hash=digest,
        asts=asts,
        templates=templates,
        field_variables=used,
        syntax_errors=tuple(errors),
        prefix_variables=tuple(sorted(prefix)),
        suffix_variables=tuple(sorted(everything - prefix)),
        prefix_fields=frozenset(prefix_fields),
        prefix_deterministic=deterministic(asts[path] for path in prefix_fields),
    )


def deterministic(asts: Any) -> bool:
    """Whether no template in ``asts`` reads the clock, a uuid or ``|random``."""
    return not any(
        (isinstance(node, nodes.Filter) and node.name in NONDETERMINISTIC_FILTERS)
        or (isinstance(node, nodes.Name) and node.name in NONDETERMINISTIC_GLOBALS)
        for ast in asts
        for node in ast.find_all((nodes.Filter, nodes.Name))
    )


def resolve_variables(
    specs: dict[str, VariableSpec], values: Any, *, optional: Collection[str] = ()
) -> dict[str, Any]:
    """Check caller values against the declarations and apply defaults; a required variable
    named in ``optional`` may be left out. Raises ``VariableError``."""
    if not isinstance(values, dict):
        raise VariableError([{"variable": "variables", "message": "must be an object"}])
    issues = [
        {
            "variable": name,
            "message": f"is not declared by this template{did_you_mean(name, specs)} "
            f"(declared: {', '.join(specs) or 'none'})",
        }
        for name in values
        if name not in specs
    ]
    resolved: dict[str, Any] = {}
    for name, spec in specs.items():
        value = values.get(name, spec.default)
        if value is MISSING:
            if spec.required and name not in optional:
                issues.append({"variable": name, "message": "is required"})
            continue
        problems = value_problems(spec, value)
        bad = text_problem(value)
        problems += [(f".{bad[0]}" if bad[0] else "", bad[1])] if bad else []
        issues += [{"variable": name + sub, "message": message} for sub, message in problems]
        resolved[name] = sort_keys_deep(value)
    if issues:
        raise VariableError(issues)
    return resolved


class _OutputTooLarge(Exception):
    pass


def _render_field(template: Template, context: dict[str, Any], budget: list[int]) -> str:
    chunks = []
    for chunk in template.generate(context):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise _OutputTooLarge
        chunks.append(chunk)
    return "".join(chunks)


def _render_fields(
    compiled: CompiledBody,
    context: dict[str, Any],
    version: int | None,
    limits: Limits,
    done: Mapping[str, str],
) -> dict:
    budget = [limits.max_output_chars - sum(map(len, done.values()))]
    rendered: dict[str, str] = {}
    for path, template in compiled.templates.items():
        if path in done:
            continue
        try:
            rendered[path] = _render_field(template, context, budget)
        except _OutputTooLarge:
            raise RenderLimitError(
                f"output is over the limit of {limits.max_output_chars:,} characters",
                path=path,
                version=version,
            ) from None
        except UndefinedError as exc:
            raise RenderError(
                f"{exc.message} (declare it under 'variables' or pass it)",
                path=path,
                version=version,
            ) from None
        except SecurityError as exc:
            raise RenderError(
                f"not allowed in a template: {exc}", path=path, version=version
            ) from None
        except (
            TemplateError,
            ArithmeticError,
            LookupError,
            TypeError,
            ValueError,
            RecursionError,
            AttributeError,
        ) as exc:
            raise RenderError(f"{type(exc).__name__}: {exc}", path=path, version=version) from None
        except MemoryError:
            raise RenderLimitError("ran out of memory", path=path, version=version) from None
    return rendered


def _thaw(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_thaw(item) for item in value]
    return value


def _assign(data: dict[str, Any], path: str, value: str) -> None:
    *parents, last = path_keys(path)
    target: Any = data
    for key in parents:
        target = target[key]
    target[last] = value


def render(
    compiled: CompiledBody,
    variables: Any,
    *,
    model: str | None = None,
    version: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> RenderResult:
    """Render ``compiled`` with ``variables`` for ``model`` (default: the body's model),
    within ``limits``.

    Raises ``VariableError``, ``RenderError``, ``RenderLimitError``, or the
    catalog's ``UnknownModelError`` / ``UnknownProviderError``.
    """
    profile, context = prepare(compiled, variables, model=model, version=version)
    rendered = render_fields(compiled, context, version=version, limits=limits)
    return finish(compiled, profile, context, rendered, version=version)


def render_prefix(
    compiled: CompiledBody,
    variables: Any,
    *,
    model: str | None = None,
    version: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> RenderResult:
    """``render``'s request cut after the last checkpoint's block: what every call with these
    prefix-variable values sends first, with the same checkpoints (fingerprints, tokens,
    status) and cache key. Only the prefix variables must be given, and only the fields up
    to that block are rendered. Raises what ``render`` raises."""
    profile, context = prepare(
        compiled, variables, model=model, version=version, optional=compiled.suffix_variables
    )
    # The later fields are never sent: they count as rendered, with no characters.
    later = {path: "" for path in compiled.templates if path not in compiled.prefix_fields}
    rendered = render_fields(compiled, context, version=version, limits=limits, done=later)
    return finish(
        compiled, profile, context, {**later, **rendered}, version=version, prefix_only=True
    )


def prepare(
    compiled: CompiledBody,
    variables: Any,
    *,
    model: str | None,
    version: int | None,
    optional: Collection[str] = (),
) -> tuple[ModelProfile, dict[str, Any]]:
    """The first steps of a render: syntax errors, the model's profile, the variables checked
    (those in ``optional`` may be left out)."""
    if compiled.syntax_errors:
        error = compiled.syntax_errors[0]
        raise RenderError(error["message"], path=error["path"], version=version)
    profile = get_profile(model or compiled.body.model)
    return profile, resolve_variables(compiled.body.variables, variables, optional=optional)


def render_fields(
    compiled: CompiledBody,
    context: dict[str, Any],
    *,
    version: int | None,
    limits: Limits,
    done: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every templated field not in ``done`` (fields rendered already, whose characters count
    against the output limit), in the sandbox within the wall-clock limit."""
    done = done or {}
    try:
        return call_with_deadline(
            limits.seconds, lambda: _render_fields(compiled, context, version, limits, done)
        )
    except DeadlineExceeded:
        raise RenderLimitError(
            f"rendering took longer than the limit of {limits.seconds:g} s (a loop that does "
            "not end, or too much work)",
            path="body",
            version=version,
        ) from None


def finish(
    compiled: CompiledBody,
    profile: ModelProfile,
    context: dict[str, Any],
    rendered: Mapping[str, str],
    *,
    version: int | None,
    checkpoints: tuple[CheckpointResult, ...] | None = None,
    warnings: tuple[dict[str, str], ...] | None = None,
    prefix_only: bool = False,
) -> RenderResult:
    """The result of a render from its rendered fields; ``checkpoints`` and ``warnings`` when
    they are known already (they depend on the prefix alone). With ``prefix_only`` the
    request ends after the last checkpoint's block (the fields after it are not used)."""
    data = _thaw(compiled.body.data)
    for path, text in rendered.items():
        _assign(data, path, text)
    request = to_request(data, model=profile.model)
    if prefix_only:
        request = prefix_request(request, compiled.body.prefix_end)
    _check_images(request, version)
    for path, message in rejected_params(request.params, profile):
        raise RenderError(message, path=path, version=version)
    if checkpoints is None:
        checkpoints = checkpoint_results(compiled.body, request, profile)
        warnings = render_warnings(compiled, checkpoints, profile)
    if checkpoints:
        request = replace(request, cache_key=checkpoints[-1].fingerprint)
    return RenderResult(
        request=request,
        profile=profile,
        checkpoints=checkpoints,
        prefix_variables=compiled.prefix_variables,
        suffix_variables=compiled.suffix_variables,
        warnings=warnings or (),
        token_method=estimate_method(profile.tokenizer),
        variables=context,
    )


def continue_render(
    result: RenderResult, messages: tuple[Message, ...], params: Mapping[str, Any]
) -> RenderResult:
    """``result`` with a caller's ``messages`` after the template's and ``params`` over its
    own: the conversation an SDK-compatible call continues. The cached prefixes are the
    template's, so checkpoints and fingerprints stay as rendered. Raises ``RenderError``."""
    merged = {**result.request.params, **params}
    if any(m.role != "system" for m in result.request.messages):
        late = next((i for i, m in enumerate(messages) if m.role == "system"), None)
        if late is not None:
            message = "a system message cannot follow the template's conversation"
            raise RenderError(message, path=f"messages[{late}]")
    for path, message in rejected_params(params, result.profile):
        raise RenderError(message, path=path.removeprefix("params."))
    request = replace(result.request, messages=result.request.messages + messages, params=merged)
    _check_images(request, None)
    return replace(result, request=request)


def rejected_params(params: Mapping[str, Any], profile: ModelProfile) -> list[tuple[str, str]]:
    """``(path, message)`` for each request param the model answers with a 400."""
    return [
        (f"params.{name}", f"{profile.model} rejects {name} (the provider answers 400): remove it")
        for name in profile.rejected_params
        if params.get(name) is not None
    ]


def _check_images(request: ChatRequest, version: int | None) -> None:
    """Every image URL, rendered, must be usable: non-empty, and a data URL must be base64."""
    for index, message in enumerate(request.messages):
        for part_index, part in enumerate(
            message.content if isinstance(message.content, tuple) else ()
        ):
            if part.type != "image_url":
                continue
            try:
                parse_data_url(image_url(part))
            except ValueError as exc:
                path = f"messages[{index}].content[{part_index}].image_url.url"
                raise RenderError(str(exc), path=path, version=version) from None


def _static_text(ast: nodes.Template) -> str:
    return "".join(node.data for node in ast.find_all(nodes.TemplateData))


def estimate_static(compiled: CompiledBody, profile: ModelProfile) -> tuple[tuple, list[dict]]:
    """Checkpoint estimates from the templates' literal text alone (variables count as empty)."""
    data = _thaw(compiled.body.data)
    for path, ast in compiled.asts.items():
        _assign(data, path, _static_text(ast))
    request = to_request(data, model=profile.model)
    checkpoints = checkpoint_results(compiled.body, request, profile)
    return checkpoints, checkpoint_warnings(compiled, checkpoints, profile)


def compiled_for(digest: str, load: Any) -> CompiledBody:
    """The compiled body for a stored ``content_hash``; ``load()`` gives the body on a miss."""
    with _cache_lock:
        if digest in _cache:
            _cache.move_to_end(digest)
            return _cache[digest]
    return compile_body(load())
