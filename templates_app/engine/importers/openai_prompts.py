"""OpenAI reusable prompt objects translated into Cachet template files. Pure: parsed JSON in,
plain data out.

OpenAI's prompt objects (``pmpt_…``, edited in the dashboard, called from the Responses API
as ``"prompt": {"id": "pmpt_…", "version": "2", "variables": {…}}``) are being shut down
(https://developers.openai.com/api/docs/guides/prompting/migrate-from-prompt-object). What
this reads is a prompt as it was saved before then::

    {"id": "pmpt_68b1…", "object": "prompt", "name": "Support reply", "description": "…",
     "default_version": "2",
     "versions": [{"version": "1", "model": "gpt-4.1", "instructions": "…{{customer}}…",
                   "input": [{"role": "user", "content": [{"type": "input_text",
                                                           "text": "…"}]}],
                   "variables": {"customer": "Acme", "photo": {"type": "input_image", …}},
                   "tools": [{"type": "function", "name": "lookup", …}],
                   "temperature": 0.3, "max_output_tokens": 800,
                   "reasoning": {"effort": "low"}}, …]}

Also read: a single version saved on its own (``{"id": "pmpt_…", "version": "2", …}``, its
prompt's other versions possibly in other documents), a list of either, and an OpenAI list
(``{"object": "list", "data": […]}``). A version's messages may be under ``input`` or
``messages``; the version a call without ``version`` gets is marked by the prompt's
``default_version`` (or ``current_version``), or by ``is_default`` (``default``, ``current``)
on the version.

How it translates:

- One template per prompt id, one Cachet version per prompt version in version order
  (numbered from 1; the message names the OpenAI version). The ``pmpt_…`` id becomes the
  template's alias, so a caller that named the prompt object still finds it; the slug comes
  from the prompt's name, else from the id (with ``-`` for ``_``: a slug is never its own
  alias).
- ``instructions`` become the first system message (the Responses API puts them before the
  input); ``developer`` and ``system`` messages are system messages, ``input_text`` /
  ``output_text`` parts text parts, an ``input_image`` URL an image part and an
  ``input_file`` a file part.
- ``{{name}}`` is a variable (``simple_variables``); a string default stays its default, so
  it is optional. A variable holding an image or a file is declared a required string, with
  a note. ``sample_variables`` hold the defaults (those of the default version first), and
  ``"<name>"`` for the rest.
- ``model`` goes through ``usable_model`` (a retired model becomes its successor);
  ``temperature``, ``top_p``, ``max_output_tokens`` and ``tool_choice`` (any key of
  ``PARAM_KEYS``) become params, function tools tools; ``reasoning``, ``text`` (structured
  output, verbosity) and other tools are named in notes.
- The label ``production`` points at the default version (the newest, with a note, when none
  is marked).
"""

from __future__ import annotations

from typing import Any

from ..names import is_alias
from ..validation import json_type
from ..variables import NAME_RE
from . import Imported, declare, literal, slug_of
from .pieces import (
    PARAM_KEYS,
    ROLES,
    cachet_params,
    declared_in,
    function_tools,
    placed_role,
    sample_values,
    template_text,
    unique_slug,
    usable_model,
    valid_body,
    variable_name,
)

# Keys of a saved version this importer reads, or that say nothing about the call.
_VERSION_KEYS = {
    *("id", "object", "prompt_id", "version", "name", "description", "created_at"),
    *("updated_at", "is_default", "default", "current", "default_version", "current_version"),
    *("instructions", "input", "messages", "variables", "model", "tools", "reasoning", "text"),
    *PARAM_KEYS,
}
_DEFAULT_FLAGS = ("is_default", "default", "current")
TEXT_PARTS = ("input_text", "output_text", "text")


def translate(documents: list[tuple[str, Any]]) -> Imported:
    """Template files for the OpenAI prompt objects in ``documents`` (``(source name,
    parsed JSON)``), one per prompt id, with a note for everything not carried over."""
    imported = Imported()
    prompts: dict[str, dict[str, Any]] = {}
    for source, data in documents:
        for where, item in _items(source, data):
            _collect(where, item, prompts, imported.notes)
    taken: set[str] = set()
    for prompt_id, prompt in prompts.items():
        template = _template(prompt_id, prompt, imported.notes, taken)
        if template is not None:
            imported.templates.append(template)
            imported.sources[template["slug"]] = prompt["source"]
    return imported


# --- reading the documents ------------------------------------------------------------------


def _items(source: str, data: Any) -> list[tuple[str, Any]]:
    """The objects of one document (a prompt, a version, a list of them), each with where it
    is (``file`` or ``file[2]``)."""
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if isinstance(data, list):
        return [(f"{source}[{index}]", item) for index, item in enumerate(data)]
    return [(source, data)]


def _collect(where: str, item: Any, prompts: dict[str, dict[str, Any]], notes: list[str]) -> None:
    """Add a prompt object's versions (or one saved version) to ``prompts``, by prompt id."""
    if not isinstance(item, dict):
        notes.append(f"{where}: not an OpenAI prompt object: skipped")
        return
    is_prompt = isinstance(item.get("versions"), list)
    prompt_id = item.get("id") if is_prompt else item.get("prompt_id") or item.get("id")
    if not isinstance(prompt_id, str) or not prompt_id:
        notes.append(f"{where}: an OpenAI prompt without an id (pmpt_…): skipped")
        return
    prompt = prompts.setdefault(
        prompt_id, {"source": where, "name": None, "description": None, "versions": {}}
    )
    for key in ("name", "description"):
        if isinstance(item.get(key), str) and item[key].strip() and not prompt[key]:
            prompt[key] = item[key].strip()
    default = item.get("default_version", item.get("current_version"))
    if default is not None:
        prompt["default"] = str(default)
    for version in item["versions"] if is_prompt else [item]:
        _add_version(where, prompt_id, version, prompt, notes)


def _add_version(
    where: str, prompt_id: str, version: Any, prompt: dict[str, Any], notes: list[str]
) -> None:
    """Record one saved version under its version string; a repeated one keeps its first."""
    number = version.get("version") if isinstance(version, dict) else None
    if isinstance(number, bool) or not isinstance(number, (str, int)) or str(number) == "":
        notes.append(f"{where}: OpenAI prompt {prompt_id} has a version without a number: skipped")
        return
    number = str(number)
    if number in prompt["versions"]:
        first = prompt["versions"][number][0]
        notes.append(
            f"{where}: OpenAI prompt {prompt_id} version {number} is given twice: "
            f"the copy from {first} is kept"
        )
        return
    prompt["versions"][number] = (where, version)
    if any(version.get(flag) is True for flag in _DEFAULT_FLAGS) and "default" not in prompt:
        prompt["default"] = number


def _order(numbers: list[str]) -> list[str]:
    """Version strings in version order: numbers by value, then the others as given."""
    numeric = sorted((n for n in numbers if n.isdigit()), key=int)
    return numeric + [n for n in numbers if not n.isdigit()]


# --- one template ---------------------------------------------------------------------------


def _template(
    prompt_id: str, prompt: dict[str, Any], notes: list[str], taken: set[str]
) -> dict[str, Any] | None:
    """The template file of one prompt object, or None when no version translates."""
    where = f"{prompt['source']}: OpenAI prompt {prompt_id}"
    versions: list[dict[str, Any]] = []
    numbers: dict[str, int] = {}
    defaults: dict[str, dict[str, Any]] = {}
    for openai_number in _order(list(prompt["versions"])):
        source, version = prompt["versions"][openai_number]
        here = f"{source}: OpenAI prompt {prompt_id} version {openai_number}"
        body = _body(version, here, notes)
        if body is None:
            continue
        numbers[openai_number] = len(versions) + 1
        defaults[openai_number] = {
            name: spec["default"]
            for name, spec in body.get("variables", {}).items()
            if "default" in spec
        }
        message = f"OpenAI prompt version {openai_number}"
        versions.append({"number": numbers[openai_number], "message": message, "body": body})
    if not versions:
        notes.append(f"{where}: no version could be translated: no template")
        return None
    default = _default_version(prompt, numbers, where, notes)
    known: dict[str, Any] = {}
    for openai_number in [default, *reversed(numbers)]:
        known = defaults[openai_number] | known
    slug = slug_of(prompt["name"]) if prompt["name"] else ""
    if not slug or slug == prompt_id:
        slug = slug_of(prompt_id)
    alias_ok = is_alias(prompt_id)
    if not alias_ok:
        notes.append(f"{where}: the id is not a valid Cachet alias: no alias")
    return {
        "slug": unique_slug(slug, taken, source=where, notes=notes),
        "name": (prompt["name"] or prompt_id)[:200],
        "description": prompt["description"] or f"Imported from OpenAI prompt {prompt_id}.",
        "aliases": [prompt_id] if alias_ok else [],
        "sample_variables": sample_values(declared_in(v["body"] for v in versions), known),
        "versions": versions,
        "labels": {"production": numbers[default]},
    }


def _default_version(
    prompt: dict[str, Any], numbers: dict[str, int], where: str, notes: list[str]
) -> str:
    """The OpenAI version ``production`` points at: the one marked default when it was
    translated, else the newest (with a note)."""
    newest = list(numbers)[-1]
    marked = prompt.get("default")
    if marked is None:
        notes.append(f"{where}: no version is marked default: production points at {newest}")
        return newest
    if marked not in numbers:
        notes.append(
            f"{where}: the default version {marked} was not translated: "
            f"production points at {newest}"
        )
        return newest
    return marked


# --- one body -------------------------------------------------------------------------------


def _body(version: dict[str, Any], where: str, notes: list[str]) -> dict[str, Any] | None:
    """The Cachet body of one saved version, or None (with a note) when it has no message."""
    messages: list[dict[str, Any]] = []
    names: list[str] = []
    instructions = version.get("instructions")
    if isinstance(instructions, str) and instructions.strip():
        text, names = template_text(instructions, source=f"{where}, instructions", notes=notes)
        messages.append({"role": "system", "content": text})
    items = version.get("input", version.get("messages"))
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for index, item in enumerate(items if isinstance(items, list) else (), start=1):
        message = _message(item, messages, f"{where}, input {index}", notes)
        if message is not None:
            messages.append(message[0])
            names += message[1]
    model = usable_model(version.get("model"), source=where, notes=notes)
    params = cachet_params(version, model=model, source=where, notes=notes)
    tools = function_tools(version.get("tools"), source=where, notes=notes)
    _setting_notes(version, where, notes)
    variables = _variables(version.get("variables"), names, where, notes)
    return valid_body(
        model=model,
        params=params,
        variables=variables,
        tools=tools,
        messages=messages,
        source=where,
        notes=notes,
    )


def _message(
    item: Any, before: list[dict[str, Any]], where: str, notes: list[str]
) -> tuple[dict[str, Any], list[str]] | None:
    """One input item as a Cachet message and its variables; None (with a note) for an item
    that is no message (a function call or its output, a reasoning item) or has no content."""
    if not isinstance(item, dict) or item.get("type", "message") != "message":
        kind = item.get("type") if isinstance(item, dict) else None
        notes.append(f"{where}: {kind or 'unknown'} input item dropped: only messages carry over")
        return None
    role = ROLES.get(item.get("role"))
    if role is None:
        notes.append(f"{where}: a message with role {item.get('role')!r} dropped")
        return None
    role = placed_role(role, before, source=where, notes=notes, named=item["role"])
    content, names = _content(item.get("content"), role, where, notes)
    if content is None:
        notes.append(f"{where}: a {item['role']} message with no content Cachet can send dropped")
        return None
    return {"role": role, "content": content}, names


def _content(
    raw: Any, role: str, where: str, notes: list[str]
) -> tuple[str | list[dict[str, Any]] | None, list[str]]:
    """A message's content (a string, or its parts) as Cachet content, and its variables; a
    lone text part becomes a string. None when nothing is left."""
    if isinstance(raw, str):
        return template_text(raw, source=where, notes=notes)
    parts: list[dict[str, Any]] = []
    names: list[str] = []
    for index, part in enumerate(raw if isinstance(raw, list) else (), start=1):
        here = f"{where}, part {index}"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in TEXT_PARTS and isinstance(part.get("text"), str):
            text, used = template_text(part["text"], source=here, notes=notes)
            parts.append({"type": "text", "text": text})
            names += used
            continue
        converted = _media_part(part, kind) if role != "system" else None
        if converted is None:
            notes.append(f"{here}: {kind or 'unknown'} part dropped")
        else:
            parts.append(converted)
    if not parts:
        return None, names
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"], names
    return parts, names


def _media_part(part: dict[str, Any], kind: Any) -> dict[str, Any] | None:
    """An ``input_image`` with a URL as an image part, an ``input_file`` as a file part;
    None for anything else (an image by file id, say)."""
    if kind == "input_image" and isinstance(part.get("image_url"), str):
        return {"type": "image_url", "image_url": {"url": literal(part["image_url"])}}
    if kind == "input_file":
        file = {
            key: part[source]
            for key, source in (("file_id", "file_id"), ("file_data", "file_data"))
            if isinstance(part.get(source), str)
        }
        if isinstance(part.get("file_url"), str):
            file["url"] = literal(part["file_url"])
        if "file_data" in file:
            file["file_data"] = literal(file["file_data"])
        if len(file) == 1:
            if isinstance(part.get("filename"), str):
                file["filename"] = part["filename"]
            return {"type": "file", "file": file}
    return None


def _variables(raw: Any, used: list[str], where: str, notes: list[str]) -> dict[str, Any]:
    """The declarations of a version's variables: each used one (first-use order), then the
    others it defines; a string default kept, an image or file variable a required string."""
    declared = declare(used)
    defined = raw if isinstance(raw, dict) else _variable_list(raw)
    for source_name, value in defined.items():
        name = variable_name(str(source_name))
        if not NAME_RE.match(name):
            notes.append(f"{where}: variable {source_name!r} is not a name Cachet can declare")
            continue
        default = _default_text(value)
        if default is not None:
            declared[name] = {"type": "string", "default": default}
            continue
        declared.setdefault(name, {"type": "string", "required": True})
        kind = value.get("type") if isinstance(value, dict) else json_type(value)
        notes.append(
            f"{where}: variable {source_name!r} holds {kind}, which Cachet cannot substitute: "
            "declared a required string (an image or file goes in a part of its own)"
        )
    return declared


def _variable_list(raw: Any) -> dict[str, Any]:
    """Variables saved as a list (``[{"name": …, "default" | "value": …}]``) as a mapping."""
    out: dict[str, Any] = {}
    for item in raw if isinstance(raw, list) else ():
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            out[item["name"]] = item.get("default", item.get("value", ""))
    return out


def _default_text(value: Any) -> str | None:
    """A variable's default text: a string, or an ``input_text``; None for an image, a file
    or anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("type") == "input_text":
        text = value.get("text")
        return text if isinstance(text, str) else None
    return None


def _setting_notes(version: dict[str, Any], where: str, notes: list[str]) -> None:
    """Notes for the settings Cachet has no place for: reasoning, text format and verbosity,
    and every key this importer does not know."""
    reasoning = version.get("reasoning")
    if isinstance(reasoning, dict) and any(v is not None for v in reasoning.values()):
        shown = ", ".join(f"{k} {v!r}" for k, v in reasoning.items() if v is not None)
        notes.append(f"{where}: reasoning ({shown}) dropped: Cachet params have no reasoning")
    text = version.get("text")
    if isinstance(text, dict):
        kind = text["format"].get("type") if isinstance(text.get("format"), dict) else None
        if kind not in (None, "text"):
            notes.append(f"{where}: text format {kind!r} (structured output) dropped")
        if text.get("verbosity") is not None:
            notes.append(f"{where}: text verbosity {text['verbosity']!r} dropped")
    others = [str(key) for key in version if key not in _VERSION_KEYS]
    if others:
        notes.append(f"{where}: settings Cachet has no place for, dropped: {', '.join(others)}")
