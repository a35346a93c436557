"""Body pieces every importer shares: each rule by which a source's prompt becomes a part of a
Cachet body or template file, in one place. Pure: no Django.

- Text: ``template_text`` (a ``{{name}}`` text, Langfuse's and OpenAI's, as Jinja) and
  ``variable_name`` (the Cachet name of a source's variable).
- Declarations from how a Mustache or Handlebars text uses its names: ``Usage``,
  ``declarations``, ``type_of``, ``falsy``.
- The model and its settings: ``usable_model``, ``cachet_params`` (``PARAM_KEYS``,
  ``cachet_tool_choice``), ``function_tools``, ``cache_marker``.
- Messages: ``ROLES``, ``placed_role``.
- The body: ``valid_body``, the last check that Cachet can store and render what was made.
- The template file: ``sample_values`` (over ``declared_in``), ``unique_slug``,
  ``cachet_label``.

Each function that notes takes ``source`` (where in the documents, which each note starts
with) and ``notes`` as keywords.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.catalog import get_profile
from gateway.errors import GatewayError
from gateway.registry import provider_names
from gateway.types import DEFAULT_TTL, TTLS

from ..body import TOOL_NAME_RE, check_params
from ..errors import BodyError
from ..labels import LATEST, label_name_problem
from ..names import SLUG_MAX_LENGTH
from ..rendering import compile_body
from ..variables import RESERVED_NAMES
from . import DEFAULT_MODEL, cachet_model, declare, literal, simple_variables, slug_of
from .mustache import JINJA_WORDS, Translation

# A source's settings keys that become params, by every name a source gives them (Cachet's
# and OpenAI's, OpenAI's newer ones, Anthropic's, Genkit's), and the Cachet param each sets.
PARAM_KEYS = {
    **{name: name for name in ("temperature", "top_p", "top_k", "seed", "stop", "max_tokens")},
    "tool_choice": "tool_choice",
    "max_output_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "stop_sequences": "stop",
    "maxOutputTokens": "max_tokens",
    "topP": "top_p",
    "topK": "top_k",
    "stopSequences": "stop",
}
# The Cachet role of a chat message's role (Chat Completions and Responses roles).
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
# Names a ``{{name}}`` cannot keep: Cachet's reserved names, and the words Jinja reads as
# operators.
_RENAMED_NAMES = RESERVED_NAMES | JINJA_WORDS
# The JSON type of a value, as a variable type.
_TYPE_OF = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))
_TYPE_OF += ((list, "array"), (dict, "object"))
# Per type, a value that behaves as a missing one does in Mustache and Handlebars: it prints
# nothing (or 0) and is false.
_FALSY = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}


# --- text -----------------------------------------------------------------------------------


def template_text(text: str, *, source: str, notes: list[str]) -> tuple[str, list[str]]:
    """``text`` (``{{name}}`` variables, the rest literal) as Jinja, and the variable names
    it uses in order; a name Cachet or Jinja reserves gets a trailing ``_`` (with a note)."""
    out, names = simple_variables(text)
    if text.count("{{") > len(names):
        notes.append(f"{source}: '{{{{' that opens no {{{{variable}}}} is kept as literal text")
    for name in dict.fromkeys(names):
        if variable_name(name) != name:
            out = out.replace("{{ " + name + " }}", "{{ " + variable_name(name) + " }}")
            notes.append(f"{source}: variable {name!r} is reserved in Cachet: named {name}_")
    return out, [variable_name(name) for name in names]


def variable_name(name: str) -> str:
    """The Cachet name of a source's variable: itself, or with a trailing ``_`` when Cachet
    or Jinja reserves it (``range``, ``now``, ``not``, ``if``…)."""
    return f"{name}_" if name in _RENAMED_NAMES else name


# --- declarations ---------------------------------------------------------------------------


def falsy(kind: str) -> Any:
    """A new false value of the variable type ``kind``."""
    value = _FALSY[kind]
    return type(value)() if isinstance(value, list | dict) else value


def type_of(value: Any) -> str | None:
    """The variable type of a JSON value, or None (null)."""
    return next((name for kind, name in _TYPE_OF if isinstance(value, kind)), None)


@dataclass
class Usage:
    """What the texts of one body read: names (first use first), how each is used, and the
    attributes read of each."""

    names: list[str] = field(default_factory=list)
    uses: dict[str, set[str]] = field(default_factory=dict)
    fields: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)

    def add(self, result: Translation | Usage) -> None:
        """Add what one translated text (or another body) reads."""
        self.names += [name for name in result.names if name not in self.names]
        for name, kinds in result.uses.items():
            self.uses.setdefault(name, set()).update(kinds)
        for name, paths in result.fields.items():
            self.fields.setdefault(name, set()).update(paths)


def declarations(
    names: Iterable[str], uses: dict[str, set[str]], samples: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Variable declarations for names a template uses, from how it uses them: a list an
    array (default ``[]``), ``a.b`` an object, a name only tested a boolean (default false),
    a tested name also printed a string (default ``""``), else a required string. A sample
    value's type wins, so that the sample renders."""
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(names):
        kinds = uses.get(name, {"value"})
        sample_type = type_of((samples or {}).get(name))
        if "list" in kinds:
            kind = "array"
        elif "object" in kinds:
            kind = "object"
        elif "condition" in kinds and "value" not in kinds:
            kind = "boolean"
        else:
            kind = "string"
        kind = sample_type or kind
        if kinds & {"condition", "list"}:
            out[name] = {"type": kind, "default": falsy(kind)}
        elif kind == "string":
            out[name] = declare([name])[name]
        else:
            out[name] = {"type": kind, "required": True}
    return out


# --- the model and its settings -------------------------------------------------------------


def usable_model(name: Any, *, source: str, notes: list[str]) -> str:
    """The Cachet model for a source's model name (``cachet_model``): its successor (with a
    note) when the catalog says it is retired, the default (with a note) when Cachet has no
    provider or catalog entry for it."""
    model = cachet_model(name, source=source, notes=notes)
    if model == DEFAULT_MODEL:
        return model
    try:
        if model.partition("/")[0] not in provider_names():
            raise LookupError(model)
        profile = get_profile(model)
    except (LookupError, GatewayError):
        notes.append(f"{source}: model {model!r} is not one Cachet serves: {DEFAULT_MODEL}")
        return DEFAULT_MODEL
    if profile.retired is None:
        return model
    successor = profile.successor or DEFAULT_MODEL
    notes.append(f"{source}: model {model!r} was retired on {profile.retired}: {successor}")
    return successor


def cachet_params(
    settings: dict[str, Any], *, model: str, source: str, notes: list[str]
) -> dict[str, Any]:
    """The Cachet params of a source's settings: each key of ``PARAM_KEYS`` renamed to the
    param it sets, checked as a body's params are, and those ``model`` rejects dropped; each
    drop noted with the key, its value and why. A key set twice (``max_tokens`` and
    ``max_output_tokens``) keeps its first. Keys ``PARAM_KEYS`` does not name are left to the
    importer, which knows what else it reads."""
    params: dict[str, Any] = {}
    for key, value in settings.items():
        target = PARAM_KEYS.get(key)
        if target is None or value is None:
            continue
        if target in params:
            notes.append(f"{source}: {key} dropped: {target} is set already")
            continue
        converted = cachet_tool_choice(value) if target == "tool_choice" else value
        try:
            check_params({target: converted})
        except BodyError as exc:
            notes.append(f"{source}: {key} {value!r} dropped: {exc.message}")
            continue
        params[target] = converted
    try:
        rejected = get_profile(model).rejected_params
    except GatewayError:
        rejected = ()
    for name in rejected:
        if name in params:
            del params[name]
            notes.append(f"{source}: {name} dropped: {model} rejects it")
    return params


def cachet_tool_choice(raw: Any) -> Any:
    """A ``tool_choice`` in Responses form (``{"type": "function", "name": …}``) in Chat
    Completions form, which is Cachet's (``{"type": "function", "function": {"name": …}}``);
    any other as it is."""
    if isinstance(raw, dict) and raw.get("type") == "function" and "function" not in raw:
        return {"type": "function", "function": {"name": raw.get("name")}}
    return raw


def function_tools(raw: Any, *, source: str, notes: list[str]) -> list[dict[str, Any]]:
    """Cachet function tools for a source's tools, in Chat Completions form (``{"type":
    "function", "function": {…}}``, the type optional) or Responses form (``{"type":
    "function", "name": …}``), a ``cache_control`` on a tool or its function kept; every
    other tool (web search, file search, MCP, …), one without a valid name and a second of
    one name dropped with a note. An empty function (``{}``, Portkey's "no tool") is none."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        notes.append(f"{source}: tools is not a list: dropped")
        return []
    tools: list[dict[str, Any]] = []
    for item in raw:
        tool = item if isinstance(item, dict) else {}
        function = tool.get("function")
        if function == {}:
            continue
        kind = tool.get("type", "function" if isinstance(function, dict) else None)
        if kind != "function":
            notes.append(f"{source}: {kind or 'unknown'} tool dropped: Cachet has function tools")
            continue
        spec = function if isinstance(function, dict) else tool
        name = spec.get("name")
        if not isinstance(name, str) or not TOOL_NAME_RE.match(name):
            notes.append(f"{source}: function tool named {name!r} dropped: not a valid tool name")
            continue
        if any(t["function"]["name"] == name for t in tools):
            notes.append(f"{source}: function tool {name!r} is given twice: the first is kept")
            continue
        out: dict[str, Any] = {"name": name}
        if isinstance(spec.get("description"), str) and spec["description"]:
            out["description"] = literal(spec["description"])
        if isinstance(spec.get("parameters"), dict):
            out["parameters"] = spec["parameters"]
        if isinstance(spec.get("strict"), bool):
            out["strict"] = spec["strict"]
        converted: dict[str, Any] = {"type": "function", "function": out}
        marker = tool.get("cache_control") or spec.get("cache_control")
        if marker is not None:
            marker = cache_marker(marker, source=f"{source}: tool {name}", notes=notes)
            if marker:
                converted["cache_control"] = marker
        tools.append(converted)
    return tools


def cache_marker(raw: Any, *, source: str, notes: list[str]) -> dict[str, Any] | None:
    """A source's ``cache_control`` as Cachet's, or None with a note when it is not one."""
    if not isinstance(raw, dict) or raw.get("type") != "ephemeral":
        notes.append(f"{source}: cache_control {raw!r} is not {{'type': 'ephemeral'}}: dropped")
        return None
    marker = {"type": "ephemeral"}
    ttl = raw.get("ttl")
    if ttl in TTLS:
        marker["ttl"] = ttl
    elif ttl is not None:
        notes.append(
            f"{source}: cache_control ttl {ttl!r} is not one of {', '.join(TTLS)}: "
            f"the default ({DEFAULT_TTL})"
        )
    return marker


# --- messages -------------------------------------------------------------------------------


def placed_role(
    role: str,
    before: list[dict[str, Any]],
    *,
    source: str,
    notes: list[str],
    named: str | None = None,
) -> str:
    """The Cachet role of a message of ``role`` that follows the messages ``before``: a
    system message after the conversation began is sent as a user message (Cachet's system
    messages come first), with a note calling it ``named`` (the source's role) or ``role``."""
    if role == "system" and any(message["role"] != "system" for message in before):
        notes.append(
            f"{source}: a {named or role} message after the conversation began: "
            "sent as a user message"
        )
        return "user"
    return role


# --- the body -------------------------------------------------------------------------------


def valid_body(
    *,
    model: str,
    params: dict[str, Any],
    variables: dict[str, Any],
    tools: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    source: str,
    notes: list[str],
) -> dict[str, Any] | None:
    """The body of these parts (empty ones left out), or None with a note when it is not a
    body Cachet can store and render: ``compile_body`` refuses it (no message left, say), or
    a text of it is not Jinja that compiles. A ``tool_choice`` without tools, which has
    nothing to choose, is dropped with a note."""
    if "tool_choice" in params and not tools:
        notes.append(f"{source}: tool_choice without tools: dropped")
        params = {key: value for key, value in params.items() if key != "tool_choice"}
    body: dict[str, Any] = {"model": model}
    for key, value in (("params", params), ("variables", variables), ("tools", tools)):
        if value:
            body[key] = value
    body["messages"] = messages
    try:
        compiled = compile_body(body)
    except BodyError as exc:
        problem = exc.message
    else:
        errors = compiled.syntax_errors
        problem = f"{errors[0]['path']}: {errors[0]['message']}" if errors else None
    if problem is not None:
        notes.append(f"{source}: not imported: the translated body is refused ({problem})")
        return None
    return body


# --- the template file ----------------------------------------------------------------------


def declared_in(bodies: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The variables a template's bodies declare, each name once, for ``sample_values``: by
    a declaration that requires it when a body's does (a sample is needed), else its first."""
    out: dict[str, dict[str, Any]] = {}
    for body in bodies:
        for name, spec in body.get("variables", {}).items():
            if name not in out or (spec.get("required") is True and not out[name].get("required")):
                out[name] = spec
    return out


def sample_values(
    variables: dict[str, dict[str, Any]],
    known: dict[str, Any],
    fields: dict[str, set[tuple[str, ...]]] | None = None,
) -> dict[str, Any]:
    """Sample variables for declarations (one body's, or ``declared_in`` a template's): the
    ``known`` values (the source's) of declared names, then a placeholder for each other
    required variable (``"<name>"`` for a string, an object of placeholders for the
    attributes the template reads, per ``fields``), so that the body renders."""
    samples = {name: value for name, value in known.items() if name in variables}
    for name, spec in variables.items():
        if name not in samples and spec.get("required") is True:
            kind = spec.get("type", "string")
            if kind == "string":
                samples[name] = f"<{name}>"
            elif kind == "object":
                samples[name] = _placeholder_object(name, (fields or {}).get(name, set()))
            else:
                samples[name] = falsy(kind)
    return samples


def _placeholder_object(name: str, paths: set[tuple[str, ...]]) -> dict[str, Any]:
    """An object holding ``"<name.a.b>"`` at each attribute path the template reads."""
    out: dict[str, Any] = {}
    for path in sorted(paths, key=len, reverse=True):  # deepest first: a.b.c wins over a.b
        target = out
        for segment in path[:-1]:
            target = target.setdefault(segment, {})
            if not isinstance(target, dict):
                break
        else:
            target.setdefault(path[-1], f"<{'.'.join((name, *path))}>")
    return out


def unique_slug(slug: str, taken: set[str], *, source: str, notes: list[str]) -> str:
    """``slug``, or ``slug-2``, ``slug-3``… (with a note) when this import has it already,
    cut by ``slug_of``'s rule to leave room for the suffix; the slug returned is added to
    ``taken``."""
    unique, n = slug, 1
    while unique in taken:
        n += 1
        suffix = f"-{n}"
        unique = slug_of(slug[: SLUG_MAX_LENGTH - len(suffix)]) + suffix
    if unique != slug:
        notes.append(f"{source}: slug {slug} is taken by an earlier template: {unique}")
    taken.add(unique)
    return unique


def cachet_label(label: Any, *, source: str, notes: list[str]) -> str | None:
    """The Cachet label for a source's label: itself, or its slug form (with a note); None,
    with a note, when no valid label can be made of it."""
    if isinstance(label, str) and label_name_problem(label) is None:
        return label
    name = slug_of(label) if isinstance(label, str) and re.search("[A-Za-z0-9]", label) else ""
    if not name or name == LATEST or label_name_problem(name) is not None:
        notes.append(f"{source}: label {label!r} is not a label Cachet can hold: dropped")
        return None
    notes.append(f"{source}: label {label!r} is named {name!r} in Cachet")
    return name
