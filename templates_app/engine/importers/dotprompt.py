"""dotprompt (``.prompt``) files as Cachet template files. Pure: no Django.

``translate(documents)`` takes ``(file name, file text)`` pairs. A file is YAML front matter
between ``---`` lines (optional; blank and ``#`` lines may come before it) and a Handlebars
template. From the front matter: ``model`` (with ``config.version`` pinning the model id),
``config`` (``temperature``, ``maxOutputTokens``, ``topP``, ``topK``, ``stopSequences``),
``input.schema`` (Picoschema, or JSON Schema) and ``input.default`` become the body's model,
params and variables, and the template's sample variables; ``name`` and ``description`` name
the template. The template is split into messages at ``{{role "…"}}`` (``model`` is the
assistant; text before any role is the user's). The slug is the file's: ``name.prompt``, or
``name.variant.prompt`` (a template ``name-variant``); ``_name.prompt`` is a partial and is
not imported. Everything else (``output``, ``tools``, ``{{history}}``, ``{{media}}``, …) is
noted.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from ..portable import yaml_data
from ..validation import Checker
from ..variables import parse_variables
from . import Imported, mustache, slug_of
from .mustache import usable_name
from .pieces import (
    PARAM_KEYS,
    Usage,
    cachet_params,
    declarations,
    falsy,
    placed_role,
    sample_values,
    type_of,
    unique_slug,
    usable_model,
    valid_body,
)

# A front matter block: blank or comment lines, then YAML between two --- lines.
FRONT_MATTER = re.compile(
    r"\A(?:[ \t]*(?:#[^\n]*)?\r?\n)*---[ \t]*\r?\n(?:(.*?)\r?\n)?---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.S
)
# {{role "x"}} and {{history}}: where dotprompt starts a message.
MARKER = re.compile(r"\{\{~?\s*(?:role\s+(?:\"([^\"]*)\"|'([^']*)')|(history))\s*~?\}\}")
ROLES = {"system": "system", "user": "user", "model": "assistant", "assistant": "assistant"}
# Front matter keys read here, or carried in no other way.
READ_KEYS = ("name", "variant", "version", "description", "model", "config", "input")
SCALARS = ("string", "number", "integer", "boolean")


def translate(documents: list[tuple[str, str]]) -> Imported:
    """Template files for the ``.prompt`` files in ``documents``, with notes."""
    result = Imported()
    taken: set[str] = set()
    for source, text in documents:
        template = _template(source, text, result.notes)
        if template is not None:
            template["slug"] = unique_slug(
                template["slug"], taken, source=source, notes=result.notes
            )
            result.templates.append(template)
            result.sources[template["slug"]] = source
    return result


def _base_name(source: str) -> str:
    """The file name of a source, without its directories."""
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def _file_name(source: str) -> tuple[str, str | None, bool]:
    """A file's prompt name, variant and whether it is a partial (``_name.prompt``)."""
    stem = _base_name(source).removesuffix(".prompt")
    partial = stem.startswith("_")
    stem = stem.removeprefix("_")
    name, dot, variant = stem.rpartition(".")
    return (name, variant, partial) if dot and name else (stem, None, partial)


def front_matter(text: str) -> tuple[str | None, str]:
    """A file's front matter (None when it has none) and its template text (trimmed after
    front matter, as dotprompt does)."""
    found = FRONT_MATTER.match(text)
    if found is None:
        return None, text
    return found.group(1) or "", found.group(2).strip()


def _template(source: str, text: str, notes: list[str]) -> dict[str, Any] | None:
    """The template file for one ``.prompt`` file, or None (with a note)."""
    file_name, variant, partial = _file_name(source)
    if partial:
        notes.append(f"{source}: a partial ({{{{> {file_name}}}}}): not imported")
        return None
    yaml_text, template_text = front_matter(text)
    meta: Any = {}
    if yaml_text is not None:
        try:
            meta = yaml_data(yaml_text) or {}  # as template files read YAML: JSON data
        except yaml.YAMLError as exc:
            notes.append(f"{source}: the front matter is not YAML ({exc}): not imported")
            return None
        if not isinstance(meta, dict):
            notes.append(f"{source}: the front matter is not a mapping: not imported")
            return None
    variant = meta.get("variant") if isinstance(meta.get("variant"), str) else variant
    slug = slug_of(f"{file_name}-{variant}" if variant else file_name)
    if variant:
        notes.append(f"{source}: variant {variant!r} of {file_name}: imported as {slug}")
    translated = _messages(template_text, source, notes)
    if translated is None:
        return None
    messages, usage = translated
    model = _model(meta, source, notes)
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    params = _params(config, model, source, notes)
    variables, samples = _variables(meta.get("input"), usage, source, notes)
    _note_the_rest(meta, source, notes)
    body = valid_body(
        model=model,
        params=params,
        variables=variables,
        tools=[],
        messages=messages,
        source=source,
        notes=notes,
    )
    if body is None:
        return None
    version = meta.get("version")
    message = f"Imported from dotprompt {_base_name(source)}"
    return {
        "slug": slug,
        "name": meta["name"] if isinstance(meta.get("name"), str) else file_name,
        "description": meta["description"] if isinstance(meta.get("description"), str) else "",
        "sample_variables": sample_values(variables, samples, usage.fields),
        "versions": [
            {
                "number": 1,
                "message": message + (f" (version {version})" if version is not None else ""),
                "body": body,
            }
        ],
    }


def _messages(
    text: str, source: str, notes: list[str]
) -> tuple[list[dict[str, Any]], Usage] | None:
    """The template split into Cachet messages at its role markers, with what they read;
    None (with a note) when no message has text."""
    pieces: list[tuple[str, str]] = []
    role, pos = "user", 0
    for found in MARKER.finditer(text):
        before = text[pos : found.start()]
        pos = found.end()
        if found.group(3):  # {{history}}: the caller's messages, then the model's turn
            notes.append(
                f"{source}: {found.group()} dropped: Cachet appends the caller's messages "
                "after the template's own"
            )
            pieces.append((role, before))
            role = "model"
            continue
        if before.strip():  # a role marker starts a message, or renames an empty one
            pieces.append((role, before))
        role = found.group(1) if found.group(1) is not None else found.group(2)
    pieces.append((role, text[pos:]))
    messages: list[dict[str, Any]] = []
    usage = Usage()
    for role, piece in pieces:
        if not piece.strip():
            continue
        where = f"{source}: messages[{len(messages)}]"
        result = mustache.translate(piece.strip(), dialect="handlebars")
        notes += [f"{where}: {note}" for note in result.notes]
        cachet_role = ROLES.get(role)
        if cachet_role is None:
            notes.append(f"{where}: role {role!r} is not one Cachet has: a user message")
            cachet_role = "user"
        cachet_role = placed_role(cachet_role, messages, source=where, notes=notes)
        if not result.text:
            continue
        messages.append({"role": cachet_role, "content": result.text})
        usage.add(result)
    if not messages:
        notes.append(f"{source}: the template has no text: not imported")
        return None
    return messages, usage


def _model(meta: dict[str, Any], source: str, notes: list[str]) -> str:
    """The Cachet model for the front matter's ``model`` (``config.version`` pins its id)."""
    name = meta.get("model")
    if isinstance(name, dict):
        name = name.get("name")
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    version = config.get("version")
    if isinstance(name, str) and "/" in name and isinstance(version, str) and version.strip():
        name = f"{name.partition('/')[0]}/{version.strip()}"
    return usable_model(name, source=source, notes=notes)


def _params(config: dict[str, Any], model: str, source: str, notes: list[str]) -> dict[str, Any]:
    """The Cachet params for Genkit's ``config`` (``maxOutputTokens``…: ``PARAM_KEYS``); the
    rest is noted."""
    others = [str(key) for key in config if key not in PARAM_KEYS and key != "version"]
    if others:
        notes.append(f"{source}: config not carried over: {', '.join(others)}")
    return cachet_params(config, model=model, source=source, notes=notes)


def _note_the_rest(meta: dict[str, Any], source: str, notes: list[str]) -> None:
    """One note per front matter key this import does not carry over."""
    if isinstance(meta.get("output"), dict):
        what = ", ".join(str(key) for key in meta["output"])
        notes.append(f"{source}: output ({what}) is not carried over: Cachet returns the text")
    if meta.get("tools"):
        notes.append(f"{source}: tools {meta['tools']!r} are defined in code: not carried over")
    rest = [str(key) for key in meta if key not in (*READ_KEYS, "output", "tools")]
    if rest:
        notes.append(f"{source}: front matter not carried over: {', '.join(rest)}")


# --- variables ------------------------------------------------------------------------------


def _variables(
    raw: Any, usage: Usage, source: str, notes: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The body's variable declarations (``input.schema``, else how the template uses
    names) with ``input.default`` applied, and the sample variables (the defaults)."""
    given = raw if isinstance(raw, dict) else {}
    defaults = given.get("default") if isinstance(given.get("default"), dict) else {}
    declared = schema_variables(given.get("schema"), source=source, notes=notes)
    unknown = [name for name in usage.names if name not in declared]
    if declared and unknown:
        notes.append(f"{source}: {', '.join(unknown)} not in input.schema: declared from their use")
    variables = {**declared, **declarations(unknown, usage.uses, defaults)}
    samples: dict[str, Any] = {}
    for name, value in defaults.items():
        if name not in variables:
            notes.append(f"{source}: input.default.{name} is no variable's: dropped")
            continue
        spec = {key: item for key, item in variables[name].items() if key != "required"}
        spec["default"] = value
        if _fits(name, spec):
            variables[name] = spec
            samples[name] = value
        else:
            notes.append(f"{source}: input.default.{name} does not fit its type: dropped")
    return variables, samples


def _fits(name: str, spec: dict[str, Any]) -> bool:
    """Whether Cachet accepts ``spec`` as the declaration of ``name``."""
    check = Checker()
    parse_variables({name: spec}, check)
    return not check.issues


def schema_variables(schema: Any, *, source: str, notes: list[str]) -> dict[str, dict[str, Any]]:
    """Variable declarations for an ``input.schema``: Picoschema, or JSON Schema (an object
    with ``properties``)."""
    if schema is None:
        return {}
    if isinstance(schema, str):
        notes.append(f"{source}: input.schema is the named schema {schema!r}: not declared")
        return {}
    if not isinstance(schema, dict):
        notes.append(f"{source}: input.schema is not a mapping: not declared")
        return {}
    if isinstance(schema.get("properties"), dict):
        return _json_schema(schema, source, notes)
    if isinstance(schema.get("type"), str):
        notes.append(f"{source}: input.schema is one {schema['type']}, not named inputs")
        return {}
    return _picoschema(schema, source, notes)


def _picoschema(schema: dict[str, Any], source: str, notes: list[str]) -> dict[str, Any]:
    """Declarations for Picoschema fields: ``name: type, description``, ``name?: …``
    (optional), ``name(array|object|enum, description): …``."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in schema.items():
        where = f"{source}: input.schema.{key}"
        found = re.fullmatch(r"\s*([^?(\s]+)\s*(\?)?\s*(?:\((.*)\))?\s*", str(key))
        if str(key) == "(*)" or found is None:
            notes.append(f"{where}: not a named input: not declared")
            continue
        name, optional, info = found.group(1), bool(found.group(2)), found.group(3)
        if not usable_name(name):
            notes.append(f"{where}: {name!r} cannot be a Cachet variable name: not declared")
            continue
        enum = None
        if info is not None:
            kind, description = _described(info)
            if kind == "enum" and isinstance(value, list):
                enum = [item for item in value if item is not None]
                kind = _enum_type(enum)
            elif kind not in ("array", "object"):
                notes.append(f"{where}: ({kind}) is not array, object or enum: not declared")
                continue
        elif isinstance(value, dict):
            kind, description = "object", None
        elif isinstance(value, str):
            kind, description = _described(value)
        else:
            notes.append(f"{where}: {value!r} is not a Picoschema type: not declared")
            continue
        kind = _scalar(kind, where, notes)
        if kind is not None:
            out[name] = _checked(name, _spec(kind, optional, description, enum), where, notes)
    return out


def _json_schema(schema: dict[str, Any], source: str, notes: list[str]) -> dict[str, Any]:
    """Declarations for a JSON Schema object's properties."""
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    out: dict[str, dict[str, Any]] = {}
    for name, prop in schema["properties"].items():
        where = f"{source}: input.schema.properties.{name}"
        if not usable_name(str(name)) or not isinstance(prop, dict):
            notes.append(f"{where}: not a variable Cachet can declare: not declared")
            continue
        types = prop.get("type") if isinstance(prop.get("type"), list) else [prop.get("type")]
        nullable = "null" in types
        types = [kind for kind in types if kind not in (None, "null")]
        enum = prop.get("enum") if isinstance(prop.get("enum"), list) else None
        if enum is not None:
            nullable = nullable or None in enum
            enum = [item for item in enum if item is not None]
        if len(types) == 1:
            kind = types[0]
        elif set(types) == {"integer", "number"}:
            kind = "number"
        else:
            kind = _enum_type(enum) if enum else "any"
        kind = _scalar(kind, where, notes)
        if kind is None:
            continue
        description = prop.get("description") if isinstance(prop.get("description"), str) else None
        spec = _checked(
            name, _spec(kind, nullable or name not in required, description, enum), where, notes
        )
        length = prop.get("maxLength" if kind == "string" else "maxItems")
        if kind in ("string", "array") and isinstance(length, int) and length >= 1:
            spec["max_length"] = length
        if "default" in prop and _fits(name, {**spec, "default": prop["default"]}):
            spec = {key: item for key, item in spec.items() if key != "required"}
            spec["default"] = prop["default"]
        out[name] = spec
    return out


def _described(text: str) -> tuple[str, str | None]:
    """``"type, description"`` as ``(type, description)``."""
    kind, comma, description = text.partition(",")
    return kind.strip(), (description.strip() or None) if comma else None


def _scalar(kind: str, where: str, notes: list[str]) -> str | None:
    """The Cachet type for a schema type; ``any`` is a string, a named schema an object."""
    if kind in (*SCALARS, "array", "object"):
        return kind
    if kind == "any":
        notes.append(f"{where}: any is declared as a string")
        return "string"
    if kind == "null":
        notes.append(f"{where}: a null input is not declared")
        return None
    notes.append(f"{where}: the named schema {kind!r} is declared as an object")
    return "object"


def _enum_type(values: list[Any] | None) -> str:
    """The type every value of an enum has (``any`` when they differ)."""
    kinds = {type_of(value) for value in values or []}
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 else "any"


def _checked(name: str, spec: dict[str, Any], where: str, notes: list[str]) -> dict[str, Any]:
    """``spec``, without its enum (noted) when Cachet refuses the enum for its type."""
    if "enum" in spec and not _fits(name, spec):
        notes.append(f"{where}: enum {spec['enum']!r} does not fit type {spec['type']}: dropped")
        spec = {key: value for key, value in spec.items() if key != "enum"}
        spec.pop("required", None) if spec.get("required") is False else None
        if "required" not in spec and "default" not in spec:
            spec["default"] = falsy(spec["type"])
    return spec


def _spec(
    kind: str, optional: bool, description: str | None, enum: list[Any] | None
) -> dict[str, Any]:
    """A declaration. An optional input gets the value a missing one renders as in
    Handlebars (``""``, false, ``[]`` …) as its default, when its enum allows it."""
    spec: dict[str, Any] = {"type": kind}
    if description:
        spec["description"] = description
    if enum:
        spec["enum"] = enum
    if not optional:
        spec["required"] = True
    elif enum is None or falsy(kind) in enum:
        spec["default"] = falsy(kind)
    else:
        spec["required"] = False
    return spec
