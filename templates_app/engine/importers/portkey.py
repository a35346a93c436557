"""Portkey prompts as Cachet template files. Pure: no Django.

``translate(documents)`` takes ``(source name, parsed JSON)`` pairs. A document is:

- a prompt as Portkey's Admin API returns it (``GET /prompts/{promptId}``, and
  ``GET /prompts/{promptId}/versions/{versionId}``): ``id``, ``slug``, ``name``, ``string``
  (the template: the messages as JSON text, Mustache in their content, or plain text for a
  completions prompt), ``parameters``, ``model``, ``virtual_key``, ``tools``, ``functions``,
  ``tool_choice``, ``prompt_version``, ``prompt_version_description``,
  ``prompt_version_label_id``;
- a version as ``GET /prompts/{promptId}/versions`` lists it: ``prompt_id``,
  ``prompt_template`` (an object holding the fields above, or the template text),
  ``prompt_version``, ``prompt_description``, ``label_id``;
- labels as ``GET /labels`` lists them (``id``, ``name``, …): they name the label ids;
- a list of any of these, or a ``{"data": [...]}`` list response.

Documents about one prompt (the same prompt id, else slug or name) become one template, its
versions in ``prompt_version`` order; a version's label id names a label when a label list
is among the documents. Portkey returns no variable values; a prompt may carry
``"variables": {name: value}`` (what a render call sends) as sample values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from . import Imported, mustache, slug_of
from .mustache import ESCAPING_NOTE
from .pieces import (
    PARAM_KEYS,
    ROLES,
    Usage,
    cache_marker,
    cachet_label,
    cachet_params,
    declarations,
    declared_in,
    function_tools,
    placed_role,
    sample_values,
    unique_slug,
    usable_model,
    valid_body,
)

MESSAGE_KEYS = ("role", "content", "cache_control", "name")
_ALIAS = re.compile(r"[A-Za-z0-9_-]{1,200}\Z")
# What makes two copies of a version the same version.
_CONTENT = ("string", "parameters", "model", "tools", "functions", "tool_choice")


@dataclass
class _Version:
    """One prompt version found in the documents, its fields in one place."""

    source: str
    prompt: str  # what groups versions of one prompt: its id, else slug, else name
    fields: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


def translate(documents: list[tuple[str, Any]]) -> Imported:
    """Template files for the Portkey prompts in ``documents``, with notes."""
    result = Imported()
    found: list[_Version] = []
    labels: dict[str, str] = {}
    for source, document in documents:
        for where, item in _items(source, document, result.notes):
            _collect(where, item, found, labels, result.notes)
    prompts: dict[str, list[_Version]] = {}
    for version in found:
        prompts.setdefault(version.prompt, []).append(version)
    taken: set[str] = set()
    for versions in prompts.values():
        template = _template(versions, labels, result.notes)
        if template is not None:
            template["slug"] = unique_slug(
                template["slug"], taken, source=versions[0].source, notes=result.notes
            )
            result.templates.append(template)
            result.sources[template["slug"]] = ", ".join(dict.fromkeys(v.source for v in versions))
    return result


def _items(source: str, document: Any, notes: list[str]) -> list[tuple[str, Any]]:
    """The objects a document holds, each with where it is: a list's items, a ``data``
    list's items, or the document itself."""
    if isinstance(document, list):
        return [(f"{source}[{index}]", item) for index, item in enumerate(document)]
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        return [(f"{source}: data[{index}]", item) for index, item in enumerate(document["data"])]
    if isinstance(document, dict) and isinstance(document.get("data"), dict):
        return [(source, document["data"])]
    if isinstance(document, dict):
        return [(source, document)]
    notes.append(f"{source}: not a Portkey prompt, version or label list: skipped")
    return []


def _collect(
    where: str, item: Any, found: list[_Version], labels: dict[str, str], notes: list[str]
) -> None:
    """File ``item`` as a prompt version or a label; note anything else."""
    if not isinstance(item, dict):
        notes.append(f"{where}: not a Portkey prompt, version or label: skipped")
    elif "string" in item or "prompt_template" in item:
        found.append(_version(where, item))
    elif (
        isinstance(item.get("id"), str)
        and isinstance(item.get("name"), str)
        and (item.get("object") == "label" or "color_code" in item or "is_universal" in item)
    ):
        labels[item["id"]] = item["name"]
    elif item.get("object") == "prompt" or "collection_id" in item:
        name = item.get("name") or item.get("slug") or item.get("id")
        notes.append(
            f"{where}: Portkey prompt {name!r} is listed without its template (List Prompts): "
            "import what GET /prompts/{promptId} returns for it"
        )
    elif "messages" in item:
        notes.append(
            f"{where}: a rendered prompt (its variables already filled in): import the "
            "template GET /prompts/{promptId} returns instead"
        )
    else:
        notes.append(f"{where}: not a Portkey prompt, version or label: skipped")


def _version(where: str, item: dict[str, Any]) -> _Version:
    """A prompt version's fields, whichever endpoint returned it."""
    template = item.get("prompt_template")
    fields = {key: value for key, value in item.items() if key != "prompt_template"}
    if isinstance(template, dict):
        fields = {**template, **fields}
    elif isinstance(template, str):
        fields.setdefault("string", template)
    listed = "prompt_template" in item  # a versions list: its id is the version's
    prompt_id = item.get("prompt_id") or (None if listed else item.get("id"))
    fields["number"] = item.get("prompt_version")
    fields["version_description"] = next(
        (
            item[key]
            for key in ("prompt_version_description", "prompt_description", "version_description")
            if isinstance(item.get(key), str) and item[key].strip()
        ),
        None,
    )
    fields["label_id"] = item.get("prompt_version_label_id") or item.get("label_id")
    fields["prompt_id"] = prompt_id
    key = prompt_id or item.get("slug") or item.get("name") or where
    return _Version(where, str(key), fields)


def _template(versions: list[_Version], labels: dict[str, str], notes: list[str]) -> Any:
    """The template file for one prompt's versions, or None (with notes) when none of them
    makes a body Cachet accepts."""
    name = next((v.get("name") for v in versions if isinstance(v.get("name"), str)), None)
    portkey_slug = next((v.get("slug") for v in versions if isinstance(v.get("slug"), str)), None)
    title = name or portkey_slug or versions[0].prompt
    versions = _ordered(versions, title, notes)
    numbered = _numbers(versions)
    samples = _samples(versions, title, notes)
    kept: list[tuple[int, _Version, dict[str, Any]]] = []
    usage = Usage()
    version_notes: list[list[str]] = []
    for number, version in zip(numbered, versions, strict=True):
        where = f"{version.source}: {title}" + (f" v{number}" if len(versions) > 1 else "")
        here: list[str] = []
        made = _body(version, where, samples, here)
        if made is not None:
            kept.append((number, version, made[0]))
            usage.add(made[1])
        version_notes.append([note.removeprefix(f"{where}: ") for note in here])
    merged = _merged_notes(versions, version_notes, title, numbered)
    escaping = [note for note in merged if f": {ESCAPING_NOTE} " in note]
    notes += [note for note in merged if note not in escaping[1:]]  # once is enough
    if not kept:
        notes.append(f"{versions[0].source}: {title}: no version could be imported")
        return None
    slug = slug_of(name or portkey_slug or versions[0].prompt)
    aliases = [
        alias
        for alias in dict.fromkeys([portkey_slug, versions[0].get("prompt_id")])
        if isinstance(alias, str) and _ALIAS.match(alias) and alias != slug
    ]
    template: dict[str, Any] = {
        "slug": slug,
        "name": name or title,
        "description": f"Imported from Portkey prompt {portkey_slug or versions[0].prompt}.",
    }
    if aliases:
        template["aliases"] = aliases
    declared = declared_in(body for _, _, body in kept)
    template["sample_variables"] = sample_values(declared, samples, usage.fields)
    template["versions"] = [
        {
            "number": number,
            "message": version.get("version_description") or f"Portkey version {number}",
            "body": body,
        }
        for number, version, body in kept
    ]
    found_labels = _labels(kept, labels, f"{versions[0].source}: {title}", notes)
    if found_labels:
        template["labels"] = found_labels
    return template


def _ordered(versions: list[_Version], title: str, notes: list[str]) -> list[_Version]:
    """The versions by ``prompt_version`` (those without one last), each number once."""
    ordered = sorted(
        versions, key=lambda v: v.get("number") if _is_number(v.get("number")) else 1 << 62
    )
    seen: dict[int, _Version] = {}
    out = []
    for version in ordered:
        number = version.get("number")
        first = seen.get(number) if _is_number(number) else None
        if first is None:
            seen[number] = version
            out.append(version)
        elif any(
            None not in (first.get(key), version.get(key)) and first.get(key) != version.get(key)
            for key in _CONTENT
        ):
            notes.append(f"{version.source}: {title} v{number} is given twice: the first kept")
        else:  # the same version from two endpoints: what one lacks, the other may give
            first.fields.update({k: v for k, v in version.fields.items() if first.get(k) is None})
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _numbers(versions: list[_Version]) -> list[int]:
    """Portkey's version numbers when every version has one, else 1, 2, …"""
    numbers = [version.get("number") for version in versions]
    if all(_is_number(number) for number in numbers):
        return numbers
    return list(range(1, len(versions) + 1))


def _samples(versions: list[_Version], title: str, notes: list[str]) -> dict[str, Any]:
    """Sample values the versions carry (``variables``), the latest version's last."""
    samples: dict[str, Any] = {}
    for version in versions:
        values = version.get("variables")
        if isinstance(values, dict):
            samples.update({k: v for k, v in values.items() if isinstance(k, str)})
        elif values is not None:
            notes.append(f"{version.source}: {title}: variables is not an object: ignored")
    return samples


def _merged_notes(
    versions: list[_Version], version_notes: list[list[str]], title: str, numbers: list[int]
) -> list[str]:
    """The versions' notes: one said of every version once for the prompt, the rest with
    their version."""
    common = set.intersection(*(set(notes) for notes in version_notes)) if version_notes else set()
    out = [f"{versions[0].source}: {title}: {note}" for note in version_notes[0] if note in common]
    for number, version, notes in zip(numbers, versions, version_notes, strict=True):
        prefix = f"{version.source}: {title}" + (f" v{number}" if len(versions) > 1 else "")
        out += [f"{prefix}: {note}" for note in notes if note not in common]
    return list(dict.fromkeys(out))


def _labels(
    kept: list[tuple[int, _Version, dict[str, Any]]],
    labels: dict[str, str],
    where: str,
    notes: list[str],
) -> dict[str, int]:
    """Cachet labels for the versions' Portkey label ids that a label list names."""
    out: dict[str, int] = {}
    for number, version, _ in kept:
        label_id = version.get("label_id")
        if not label_id:
            continue
        name = labels.get(label_id)
        if name is None:
            notes.append(
                f"{where}: v{number}'s label {label_id} is not named by a label list (GET "
                "/labels) among the documents: not carried over"
            )
            continue
        name = cachet_label(name, source=f"{where}: v{number}", notes=notes)
        if name is None:
            continue
        if name in out:
            notes.append(
                f"{where}: label {name} is on v{out[name]} and v{number}: v{out[name]} kept"
            )
        else:
            out[name] = number
    return out


# --- one version's body ---------------------------------------------------------------------


def _body(
    version: _Version, where: str, samples: dict[str, Any], notes: list[str]
) -> tuple[dict[str, Any], Usage] | None:
    """A Cachet body for one Portkey version and what its texts read, or None (with a
    note) when it makes none."""
    translated = _messages(version.get("string"), where, notes)
    if translated is None:
        return None
    messages, usage = translated
    parameters = version.get("parameters") if isinstance(version.get("parameters"), dict) else {}
    model = _model(version.get("model") or parameters.get("model"), where, notes)
    tools = _tools(version, where, notes)
    settings = {key: value for key, value in parameters.items() if key != "model"}
    if version.get("tool_choice") not in (None, {}, ""):  # {} and "": Portkey's "none given"
        settings["tool_choice"] = version.get("tool_choice")
    others = [key for key, value in settings.items() if key not in PARAM_KEYS and value is not None]
    if others:
        notes.append(f"{where}: parameters not carried over: {', '.join(map(str, others))}")
    params = cachet_params(settings, model=model, source=where, notes=notes)
    if isinstance(version.get("virtual_key"), str) and version.get("virtual_key"):
        notes.append(
            f"{where}: virtual key {version.get('virtual_key')} is not carried over (Cachet "
            "calls the provider with its own key)"
        )
    body = valid_body(
        model=model,
        params=params,
        variables=declarations(usage.names, usage.uses, samples),
        tools=tools,
        messages=messages,
        source=where,
        notes=notes,
    )
    return None if body is None else (body, usage)


def _model(name: Any, where: str, notes: list[str]) -> str:
    """The Cachet model for a Portkey model name (``@provider-slug/model`` from Portkey's
    Model Catalog, a Bedrock id, or a plain model name)."""
    if isinstance(name, str) and name.startswith("@") and "/" in name:
        provider, _, name = name[1:].partition("/")
        notes.append(f"{where}: Portkey provider @{provider} is not carried over")
    if isinstance(name, str) and name.startswith(("anthropic.", "amazon.")):
        name = f"bedrock/{name}"
    return usable_model(name, source=where, notes=notes)


def _messages(raw: Any, where: str, notes: list[str]) -> tuple[list[dict[str, Any]], Usage] | None:
    """The messages of a Portkey template (``string``) as Cachet's, with what they read;
    None (with a note) when there is no template."""
    if isinstance(raw, dict) and "string" in raw:
        raw = raw["string"]
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("messages"), list):
            parsed = parsed["messages"]
        if not isinstance(parsed, list):
            notes.append(f"{where}: a completions prompt (plain text): one user message")
            parsed = [{"role": "user", "content": raw}]
    elif isinstance(raw, list):
        parsed = raw
    else:
        notes.append(f"{where}: no template (string): not imported")
        return None
    messages: list[dict[str, Any]] = []
    usage = Usage()
    for index, message in enumerate(parsed):
        here = f"{where}: messages[{index}]"
        converted = _message(message, here, usage, notes)
        if converted is None:
            continue
        converted["role"] = placed_role(converted["role"], messages, source=here, notes=notes)
        messages.append(converted)
    if not messages:
        notes.append(f"{where}: no message could be imported")
        return None
    return messages, usage


def _message(message: Any, where: str, usage: Usage, notes: list[str]) -> dict[str, Any] | None:
    """One Portkey message as Cachet's, or None (with a note)."""
    if not isinstance(message, dict):
        notes.append(f"{where}: not a message: dropped")
        return None
    role = message.get("role")
    if role not in ROLES:
        notes.append(f"{where}: a {role!r} message is not carried over")
        return None
    out: dict[str, Any] = {"role": ROLES[role]}
    if role == "developer":
        notes.append(f"{where}: developer message imported as a system message")
    content = message.get("content")
    if isinstance(content, str):
        out["content"] = _text(content, where, usage, notes)
    elif isinstance(content, list):
        parts = [
            part
            for index, raw in enumerate(content)
            if (part := _part(raw, f"{where}.content[{index}]", out["role"], usage, notes))
        ]
        if not parts:
            notes.append(f"{where}: no content part could be imported: message dropped")
            return None
        out["content"] = parts
    else:
        notes.append(f"{where}: no text content (tool calls are not carried over): dropped")
        return None
    if "cache_control" in message:
        marker = cache_marker(message["cache_control"], source=where, notes=notes)
        if marker:
            out["cache_control"] = marker
    if isinstance(message.get("name"), str):
        out["name"] = message["name"]
    dropped = [key for key in message if key not in MESSAGE_KEYS]
    if dropped:
        notes.append(f"{where}: {', '.join(dropped)} not carried over")
    return out


def _part(
    part: Any,
    where: str,
    role: str,
    usage: Usage,
    notes: list[str],
) -> dict[str, Any] | None:
    """One content part (text, or an image URL outside system messages) as Cachet's."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text" and isinstance(part.get("text"), str):
        text = _text(part["text"], where, usage, notes)
        out: dict[str, Any] = {"type": "text", "text": text}
    elif kind == "image_url" and role != "system":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str):
            notes.append(f"{where}: an image part without a url: dropped")
            return None
        if isinstance(image, dict) and set(image) - {"url"}:
            notes.append(f"{where}: image {', '.join(sorted(set(image) - {'url'}))} dropped")
        out = {"type": "image_url", "image_url": {"url": _text(url, where, usage, notes)}}
    else:
        notes.append(f"{where}: a {kind!r} part is not carried over")
        return None
    if "cache_control" in part:
        marker = cache_marker(part["cache_control"], source=where, notes=notes)
        if marker:
            out["cache_control"] = marker
    return out


def _text(text: str, where: str, usage: Usage, notes: list[str]) -> str:
    """A Mustache text as Jinja; what it reads is added to ``usage``."""
    result = mustache.translate(text, dialect="mustache")
    usage.add(result)
    notes += [f"{where}: {note}" for note in result.notes]
    return result.text


def _tools(version: _Version, where: str, notes: list[str]) -> list[dict[str, Any]]:
    """The version's function tools (``tools``, and legacy ``functions``) as Cachet's."""
    raw: list[Any] = []
    for key in ("tools", "functions"):
        value = version.get(key)
        if isinstance(value, list):
            raw += value if key == "tools" else [{"type": "function", "function": f} for f in value]
        elif value is not None:
            notes.append(f"{where}: {key} is not a list: dropped")
    return function_tools(raw, source=where, notes=notes)
