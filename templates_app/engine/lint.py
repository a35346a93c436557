"""Check a compiled body against a model profile. Pure.

Errors block a version: syntax errors, undeclared variables, unknown model, more
checkpoints than the model allows, a checkpoint in a field the model cannot
cache, a TTL it does not offer or out of order, and non-deterministic template
code before the last checkpoint. Warnings are returned with it: a checkpoint
estimated below the model's minimum (it silently will not cache), over its
cache cap, a per-request variable in a cached prefix, unused declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from jinja2 import nodes

from gateway.catalog import ModelProfile, get_profile
from gateway.errors import GatewayError
from gateway.registry import translate, unplaced_checkpoints
from gateway.tokens import ESTIMATE_METHOD, estimate_method
from gateway.types import TTLS, ChatRequest, effective_ttl, prefix_request

from .checkpoints import checkpoint_results, checkpoint_warnings, unknown_model_warning
from .errors import CachetError
from .rendering import (
    DEFAULT_LIMITS,
    CompiledBody,
    Limits,
    estimate_static,
    rejected_params,
    render,
)
from .sandbox import GLOBAL_NAMES, NONDETERMINISTIC_FILTERS, NONDETERMINISTIC_GLOBALS
from .validation import did_you_mean

UNORDERED_METHODS = ("items", "keys", "values")
_OWN_WARNINGS = ("not_cacheable", "unknown_model_limits")
ORDERING_FILTERS = ("dictsort", "sort")
# Names whose value is an object of the template language (or a function), never data:
# printing one is refused at render (sandbox.printable), and lint says so where it is visible.
TEMPLATE_OBJECTS = GLOBAL_NAMES | {"self", "loop", "caller", "varargs", "kwargs"}
OBJECT_CONSTRUCTORS = ("range", "cycler", "joiner", "namespace")
TEXT_FILTERS = ("string", "pprint")


def _issue(code: str, path: str, message: str, line: int | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"code": code, "path": path, "message": message}
    if line is not None:
        issue["line"] = line
    return issue


def lint(
    compiled: CompiledBody,
    *,
    model: str | None = None,
    sample_variables: dict[str, Any] | None = None,
    count_tokens: Callable[[ChatRequest], int] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Lint ``compiled`` for ``model`` (default: the body's); returns the report as a dict.

    The sample variables are rendered within ``limits``.

    With ``count_tokens`` (the provider's count-tokens API), checkpoints rendered from
    the sample variables are counted exactly instead of estimated.
    """
    body = compiled.body
    errors = [
        _issue("syntax_error", e["path"], e["message"], e["line"]) for e in compiled.syntax_errors
    ]
    errors += list(_undeclared(compiled))
    errors += list(_nondeterministic(compiled))
    errors += list(_unprintable(compiled))
    warnings = list(_unused(compiled))
    if not body.checkpoints:
        warnings.append(
            _issue(
                "no_checkpoint", "body", "no cache_control marker: nothing is marked for caching"
            )
        )
    report: dict[str, Any] = {
        "model": model or body.model,
        "errors": errors,
        "warnings": warnings,
        "token_method": ESTIMATE_METHOD,
        "estimated_with": None,
        "checkpoints": [],
        "prefix_variables": list(compiled.prefix_variables),
        "suffix_variables": list(compiled.suffix_variables),
    }
    try:
        profile = get_profile(model or body.model)
    except GatewayError as exc:
        errors.append(_issue("unknown_model", "model", str(exc)))
    else:
        report["token_method"] = estimate_method(profile.tokenizer)
        errors += list(_model_rules(body.data.get("params", {}), profile))
        if not profile.known:
            warnings.append(unknown_model_warning(profile))
        errors += list(_checkpoint_rules(compiled, profile))
        if not compiled.syntax_errors:
            samples = sample_variables or {}
            _estimate(compiled, profile, samples, report, count_tokens, limits)
    report["ok"] = not errors
    return report


def _estimate(
    compiled: CompiledBody,
    profile: ModelProfile,
    samples: dict[str, Any],
    report: dict[str, Any],
    count_tokens: Callable[[ChatRequest], int] | None,
    limits: Limits,
) -> None:
    declared = {k: v for k, v in samples.items() if k in compiled.body.variables}
    try:
        result = render(compiled, declared, model=profile.model, limits=limits)
    except (CachetError, GatewayError) as exc:
        checkpoints, warnings = estimate_static(compiled, profile)
        report["estimated_with"] = f"static text only: sample variables do not render ({exc})"
    else:
        checkpoints, warnings = result.checkpoints, result.warnings
        report["estimated_with"] = "sample variables"
        try:  # only a real render says whether the provider can take the request
            translate(result.request)
        except ValueError as exc:
            report["errors"].append(
                _issue("not_translatable", "body", f"{profile.provider} cannot take it: {exc}")
            )
        for path, why in unplaced_checkpoints(result.request):
            report["warnings"].append(
                _issue(
                    "checkpoint_not_placed",
                    path,
                    f"{why}: this checkpoint is dropped on the wire, so the prefix it closes is "
                    "cached only up to an earlier breakpoint or as part of a later one",
                )
            )
        if count_tokens is not None and checkpoints:
            checkpoints, warnings = _exact(
                compiled, result.request, profile, count_tokens, report
            ) or (checkpoints, warnings)
    # Lint has its own version of these: the not-cacheable errors, the unknown-model warning.
    report["warnings"] += [w for w in warnings if w["code"] not in _OWN_WARNINGS]
    report["checkpoints"] = [
        {
            "ordinal": c.ordinal,
            "path": c.path,
            "section": c.section,
            "ttl": c.ttl,
            "tokens": c.tokens,
            "min_tokens": c.min_tokens,
            "status": c.status,
        }
        for c in checkpoints
    ]


def _exact(
    compiled: CompiledBody,
    request: ChatRequest,
    profile: ModelProfile,
    count_tokens: Callable[[ChatRequest], int],
    report: dict[str, Any],
) -> tuple | None:
    """Checkpoints counted by the provider; on failure the estimates stay, and say why."""
    try:
        counts = [
            count_tokens(prefix_request(request, c.block_index)) for c in compiled.body.checkpoints
        ]
    except GatewayError as exc:
        report["token_method"] = f"{ESTIMATE_METHOD} (exact count failed: {exc})"
        return None
    report["token_method"] = f"exact: {profile.provider} count-tokens API"
    checkpoints = checkpoint_results(compiled.body, request, profile, counts)
    return checkpoints, checkpoint_warnings(compiled, checkpoints, profile)


def _model_rules(params: dict[str, Any], profile: ModelProfile) -> Iterator[dict[str, Any]]:
    """A retired model, and request params the model answers with a 400."""
    if profile.retired is not None:
        move = f"; move to {profile.successor}" if profile.successor else ""
        yield _issue(
            "retired_model",
            "model",
            f"{profile.model} was retired on {profile.retired} (the provider no longer "
            f"serves it){move}",
        )
    for path, message in rejected_params(params, profile):
        yield _issue("param_rejected", path, message)


def _checkpoint_rules(compiled: CompiledBody, profile: ModelProfile) -> Iterator[dict[str, Any]]:
    checkpoints = compiled.body.checkpoints
    if len(checkpoints) > profile.max_checkpoints:
        extra = checkpoints[profile.max_checkpoints]
        yield _issue(
            "too_many_checkpoints",
            extra.path,
            f"{len(checkpoints)} checkpoints, but {profile.model} allows at most "
            f"{profile.max_checkpoints}",
        )
    shortest = None  # the first checkpoint with the shortest TTL so far
    for checkpoint in checkpoints:
        if checkpoint.section not in profile.cacheable_fields:
            yield _issue(
                "checkpoint_not_cacheable",
                checkpoint.path,
                f"{profile.model} cannot cache {checkpoint.section}; it caches "
                f"{', '.join(sorted(profile.cacheable_fields))} only",
            )
        ttl = effective_ttl(checkpoint.ttl)
        if checkpoint.ttl is not None and checkpoint.ttl not in profile.ttls:
            yield _issue(
                "ttl_not_supported",
                checkpoint.path,
                f"{profile.model} does not offer a {checkpoint.ttl} cache TTL "
                f"(it offers {', '.join(profile.ttls)})",
            )
        before = effective_ttl(shortest.ttl) if shortest is not None else ttl
        if TTLS.index(ttl) > TTLS.index(before) and profile.provider != "openai":
            yield _issue(
                "ttl_order",
                checkpoint.path,
                f"a {ttl} checkpoint after a {before} one ({shortest.path}): every {ttl} "
                f"entry must come before every {before} entry",
            )
        elif shortest is None or TTLS.index(ttl) < TTLS.index(before):
            shortest = checkpoint


def _first_line(ast: nodes.Template, name: str) -> int | None:
    lines = [n.lineno for n in ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"]
    return min(lines) if lines else None


def _undeclared(compiled: CompiledBody) -> Iterator[dict[str, Any]]:
    declared = compiled.body.variables
    for path, names in compiled.field_variables.items():
        for name in sorted(names - set(declared)):
            line = _first_line(compiled.asts[path], name)
            yield _issue(
                "undeclared_variable",
                path,
                f"line {line}: '{name}' is used but not declared under 'variables'"
                + did_you_mean(name, declared),
                line,
            )


def _unused(compiled: CompiledBody) -> Iterator[dict[str, Any]]:
    used = set().union(*compiled.field_variables.values())
    for name in compiled.body.variables:
        if name not in used:
            yield _issue(
                "unused_variable",
                f"variables.{name}",
                f"'{name}' is declared but no text field uses it",
            )


def _nondeterministic(compiled: CompiledBody) -> Iterator[dict[str, Any]]:
    body = compiled.body
    objects = {name for name, spec in body.variables.items() if spec.type == "object"}
    for text_field in body.fields:
        ast = compiled.asts.get(text_field.path)
        if ast is None or body.block_index(text_field.block) > body.prefix_end:
            continue
        for line, what in _unstable_constructs(ast, None, objects):
            yield _issue(
                "nondeterministic",
                text_field.path,
                f"line {line}: {what} inside a cached region (at or before the last "
                "checkpoint): the cached prefix would change on every call",
                line,
            )


def _unstable_constructs(
    node: nodes.Node, parent: nodes.Node | None, objects: set[str]
) -> Iterator[tuple[int, str]]:
    if isinstance(node, nodes.Filter) and node.name in NONDETERMINISTIC_FILTERS:
        yield node.lineno, f"the '{node.name}' filter ({NONDETERMINISTIC_FILTERS[node.name]})"
    elif (
        isinstance(node, nodes.Name)
        and node.ctx == "load"
        and node.name in NONDETERMINISTIC_GLOBALS
    ):
        yield node.lineno, f"'{node.name}' ({NONDETERMINISTIC_GLOBALS[node.name]})"
    elif (
        isinstance(node, nodes.For)
        and isinstance(node.iter, nodes.Name)
        and node.iter.name in objects
    ):
        yield (
            node.lineno,
            (
                f"iteration over the object '{node.iter.name}' (object keys have "
                "no order: iterate over it with |dictsort)"
            ),
        )
    elif (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Getattr)
        and node.node.attr in UNORDERED_METHODS
        and not (isinstance(parent, nodes.Filter) and parent.name in ORDERING_FILTERS)
    ):
        yield (
            node.lineno,
            (f"iteration over .{node.node.attr}() (object keys have no order: use |dictsort)"),
        )
    for child in node.iter_child_nodes():
        yield from _unstable_constructs(child, node, objects)


def _unprintable(compiled: CompiledBody) -> Iterator[dict[str, Any]]:
    """Template objects printed as they are (``{{ self }}``, ``{{ range(3) }}``): their
    printed form would be a repr, and render refuses it."""
    for path, ast in compiled.asts.items():
        local = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
        local |= {m.name for m in ast.find_all(nodes.Macro)}
        printed = [expr for output in ast.find_all(nodes.Output) for expr in output.nodes]
        printed += [expr for concat in ast.find_all(nodes.Concat) for expr in concat.nodes]
        printed += [f.node for f in ast.find_all(nodes.Filter) if f.name in TEXT_FILTERS]
        for expr in printed:
            for line, what in _template_objects(expr, local):
                yield _issue(
                    "unprintable",
                    path,
                    f"line {line}: {what} cannot be printed: it is an object of the template "
                    "language, not text (print one of its values instead, as loop.index)",
                    line,
                )


def _template_objects(expr: nodes.Node | None, local: set[str]) -> Iterator[tuple[int, str]]:
    if isinstance(expr, nodes.Name) and expr.name in TEMPLATE_OBJECTS - local:
        yield expr.lineno, f"'{expr.name}'"
    elif isinstance(expr, nodes.Call) and isinstance(expr.node, nodes.Name):
        if expr.node.name in set(OBJECT_CONSTRUCTORS) - local:
            yield expr.lineno, f"{expr.node.name}(...)"
    elif isinstance(expr, nodes.Call) and isinstance(expr.node, nodes.Getattr):
        if expr.node.attr in UNORDERED_METHODS:
            yield expr.lineno, f".{expr.node.attr}()"
    elif isinstance(expr, nodes.List | nodes.Tuple):
        for item in expr.items:
            yield from _template_objects(item, local)
    elif isinstance(expr, nodes.Dict):
        for pair in expr.items:
            yield from _template_objects(pair.value, local)
