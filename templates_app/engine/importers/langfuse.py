"""Langfuse prompts translated into Cachet template files. Pure: parsed JSON in, plain data out.

What it reads (https://langfuse.com/docs/prompt-management/data-model, the public API's
``GET /api/public/v2/prompts/{name}``): one prompt version ::

    {"name": "support/triage", "version": 3, "type": "text" | "chat",
     "prompt": "…{{var}}…"  or  [{"role": "system", "content": "…"},
                                 {"type": "placeholder", "name": "chat_history"}, …],
     "config": {"model": "gpt-4o", "temperature": 0.2, "max_tokens": 512, "tools": […]},
     "labels": ["production", "latest"], "tags": ["support"], "commitMessage": "…"}

a list of them (a bulk export: every version of several prompts, in any order), or the same
list wrapped as the list endpoint pages it, ``{"data": […], "meta": {"page": 1, …}}``. Items
of that endpoint's own answer (``PromptMeta``: ``versions`` but no ``prompt``) hold no prompt
text; each gets a note saying how to fetch its versions.

How it translates:

- One template per prompt ``name`` (all documents together), one Cachet version per Langfuse
  version in version order, numbered from 1; each version's message names the Langfuse
  version and its ``commitMessage``. Folders (``/`` in a name) go into the slug through
  ``slug_of``; the template keeps the original name.
- A text prompt becomes one **user** message. Langfuse hands a text prompt back as a bare
  string (``prompt.compile()``) with no role, and its docs' examples are requests put to
  the model (the data model's ``"As a {{criticLevel}} movie critic, do you like
  {{movie}}?"``): the user's turn of a chat call, or a completion prompt, which a chat model
  takes as the user's turn too. Nothing in a text prompt marks it as instructions, so a
  system message would claim more than the source says.
- A chat prompt keeps its messages (``developer`` becomes ``system``, the role Cachet has for
  it). A message placeholder has no counterpart in a body: it is dropped with a note (a
  caller's conversation is sent after the template's messages).
- ``{{var}}`` becomes a declared, required string variable (``simple_variables``); a name
  Jinja or Cachet reserves gets a trailing ``_``. Langfuse keeps no sample values, so each
  template's ``sample_variables`` are placeholders (``"<var>"``) that let its bodies render.
- ``config.model`` goes through ``usable_model`` (a retired model becomes its successor);
  the params of ``PARAM_KEYS`` (``temperature``, ``top_p``, ``top_k``, ``seed``, ``stop``,
  ``max_tokens`` or ``max_output_tokens`` / ``max_completion_tokens``, ``tool_choice``…) and
  function ``tools`` become params and tools; every other config key is named in a note.
- Labels point at their version; ``latest`` is implicit in Cachet and dropped silently. Tags
  (the same on every version) go into the description.

The pieces of a body every importer makes alike are in ``pieces``.
"""

from __future__ import annotations

import re
from typing import Any

from ..labels import LATEST
from . import Imported, declare, slug_of
from .pieces import (
    PARAM_KEYS,
    ROLES,
    cachet_label,
    cachet_params,
    declared_in,
    function_tools,
    placed_role,
    sample_values,
    template_text,
    unique_slug,
    usable_model,
    valid_body,
)

# Config keys this importer reads: the model, the tools and the params.
_CONFIG_KEYS = {"model", "tools", *PARAM_KEYS}
# An unresolved prompt reference (https://langfuse.com/docs/prompt-management/features/composability).
_PROMPT_REFERENCE = re.compile(r"@@@langfusePrompt:[^@]*@@@")


def translate(documents: list[tuple[str, Any]]) -> Imported:
    """Template files for the Langfuse prompts in ``documents`` (``(source name, parsed
    JSON)``), one per prompt name, with a note for everything not carried over."""
    imported = Imported()
    found: list[tuple[str, dict[str, Any]]] = []
    for source, data in documents:
        found += _prompts_in(source, data, imported.notes)
    taken: set[str] = set()
    for name, versions in _by_name(found, imported.notes).items():
        template = _template(name, versions, imported.notes, taken)
        if template is not None:
            imported.templates.append(template)
            imported.sources[template["slug"]] = ", ".join(
                dict.fromkeys(where for where, _ in versions.values())
            )
    return imported


# --- reading the documents ------------------------------------------------------------------


def _prompts_in(source: str, data: Any, notes: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """The prompt versions of one document, each with where it is (``file`` or ``file[2]``);
    notes for the rest."""
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    items = data if isinstance(data, list) else [data]
    prompts = []
    for index, item in enumerate(items):
        where = f"{source}[{index}]" if isinstance(data, list) else source
        if isinstance(item, dict) and isinstance(item.get("name"), str) and "prompt" in item:
            prompts.append((where, item))
        elif isinstance(item, dict) and isinstance(item.get("versions"), list):
            notes.append(
                f"{where}: Langfuse prompt {item.get('name')!r} is listed without its text "
                f"(versions {item['versions']}): fetch each version with "
                "GET /api/public/v2/prompts/{name}?version=N and import those"
            )
        else:
            notes.append(f"{where}: not a Langfuse prompt (no name and prompt): skipped")
    return prompts


def _by_name(
    found: list[tuple[str, dict[str, Any]]], notes: list[str]
) -> dict[str, dict[int, tuple[str, dict[str, Any]]]]:
    """The prompt versions grouped by prompt name (in first-seen order), each keyed by its
    Langfuse version number; a version given twice keeps its first copy."""
    groups: dict[str, dict[int, tuple[str, dict[str, Any]]]] = {}
    for source, prompt in found:
        name, number = prompt["name"], prompt.get("version")
        if isinstance(number, bool) or not isinstance(number, int):
            notes.append(f"{source}: Langfuse prompt {name!r} has no version number: skipped")
            continue
        versions = groups.setdefault(name, {})
        if number in versions:
            notes.append(
                f"{source}: Langfuse prompt {name!r} version {number} is given twice: "
                f"the copy from {versions[number][0]} is kept"
            )
            continue
        versions[number] = (source, prompt)
    return groups


# --- one template ---------------------------------------------------------------------------


def _template(
    name: str,
    versions: dict[int, tuple[str, dict[str, Any]]],
    notes: list[str],
    taken: set[str],
) -> dict[str, Any] | None:
    """The template file of one Langfuse prompt (all its versions), or None when no version
    translates."""
    where = f"{versions[min(versions)][0]}: Langfuse prompt {name!r}"
    out_versions: list[dict[str, Any]] = []
    labels: dict[str, int] = {}
    tags: list[str] = []
    numbering: list[tuple[int, int]] = []  # (Langfuse version, Cachet version)
    for langfuse_number in sorted(versions):
        source, prompt = versions[langfuse_number]
        here = f"{source}: Langfuse prompt {name!r} version {langfuse_number}"
        tags += [tag for tag in prompt.get("tags") or () if isinstance(tag, str)]
        body = _body(prompt, here, notes)
        if body is None:
            lost = [label for label in prompt.get("labels") or () if label != LATEST]
            if lost:
                notes.append(f"{here}: labels {', '.join(map(str, lost))} dropped with it")
            continue
        number = len(out_versions) + 1
        out_versions.append({"number": number, "message": _message(prompt), "body": body})
        numbering.append((langfuse_number, number))
        _add_labels(labels, prompt.get("labels"), number, here, notes)
    if not out_versions:
        notes.append(f"{where}: no version could be translated: no template")
        return None
    if any(old != new for old, new in numbering):
        pairs = ", ".join(f"{old} → {new}" for old, new in numbering)
        notes.append(f"{where}: versions renumbered from 1 (Langfuse → Cachet: {pairs})")
    tags = list(dict.fromkeys(tags))
    description = f"Imported from Langfuse prompt {name!r}."
    if tags:
        description += f" Langfuse tags: {', '.join(tags)}."
    return {
        "slug": unique_slug(slug_of(name), taken, source=where, notes=notes),
        "name": name[:200],
        "description": description,
        "sample_variables": sample_values(declared_in(v["body"] for v in out_versions), {}),
        "versions": out_versions,
        "labels": labels,
    }


def _message(prompt: dict[str, Any]) -> str:
    """The Cachet version message: the Langfuse version, then its commit message."""
    message = f"Langfuse version {prompt['version']}"
    commit = prompt.get("commitMessage")
    return f"{message}: {commit.strip()}" if isinstance(commit, str) and commit.strip() else message


def _add_labels(
    labels: dict[str, int], raw: Any, number: int, where: str, notes: list[str]
) -> None:
    """Point each of a version's labels (but ``latest``) at its Cachet ``number``."""
    for label in raw or ():
        if label == LATEST:
            continue
        name = cachet_label(label, source=where, notes=notes)
        if name is None:
            continue
        if name in labels:
            notes.append(
                f"{where}: label {name!r} is on version {labels[name]} too: it points at {number}"
            )
        labels[name] = number


# --- one body -------------------------------------------------------------------------------


def _body(prompt: dict[str, Any], where: str, notes: list[str]) -> dict[str, Any] | None:
    """The Cachet body of one Langfuse prompt version, or None (with a note) when it has no
    message Cachet can send."""
    raw = prompt.get("prompt")
    kind = prompt.get("type") or ("chat" if isinstance(raw, list) else "text")
    if kind == "text" and isinstance(raw, str):
        messages, names = _text_messages(raw, where, notes)
    elif kind == "chat" and isinstance(raw, list):
        messages, names = _chat_messages(raw, where, notes)
    else:
        notes.append(f"{where}: a {kind!r} prompt whose prompt is not a string or list: skipped")
        return None
    config = prompt.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        notes.append(f"{where}: config is not an object: ignored")
        config = {}
    model = usable_model(config.get("model"), source=where, notes=notes)
    params = cachet_params(config, model=model, source=where, notes=notes)
    tools = function_tools(config.get("tools"), source=where, notes=notes)
    dropped = [str(key) for key in config if key not in _CONFIG_KEYS]
    if dropped:
        notes.append(f"{where}: config keys Cachet has no place for, dropped: {', '.join(dropped)}")
    return valid_body(
        model=model,
        params=params,
        variables=declare(names),
        tools=tools,
        messages=messages,
        source=where,
        notes=notes,
    )


def _text_messages(
    text: str, where: str, notes: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """A text prompt as one user message (see the module docstring), and its variables."""
    content, names = template_text(text, source=where, notes=notes)
    _reference_note(text, where, notes)
    return [{"role": "user", "content": content}], names


def _chat_messages(
    raw: list[Any], where: str, notes: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """A chat prompt's messages as Cachet messages, and their variables in first-use order."""
    messages: list[dict[str, Any]] = []
    names: list[str] = []
    for index, message in enumerate(raw, start=1):
        here = f"{where}, message {index}"
        if not isinstance(message, dict):
            notes.append(f"{here}: not a message object: dropped")
            continue
        if message.get("type") == "placeholder":
            notes.append(
                f"{here}: message placeholder {message.get('name')!r} dropped (Cachet has no "
                "message placeholders; send those messages after the template's, as the "
                "conversation of the call)"
            )
            continue
        role, content = ROLES.get(message.get("role")), message.get("content")
        if role is None or not isinstance(content, str):
            what = f"role {message.get('role')!r}" if role is None else "content that is no text"
            notes.append(f"{here}: a message with {what} dropped")
            continue
        role = placed_role(role, messages, source=here, notes=notes)
        text, used = template_text(content, source=here, notes=notes)
        _reference_note(content, here, notes)
        messages.append({"role": role, "content": text})
        names += used
    return messages, names


def _reference_note(text: str, where: str, notes: list[str]) -> None:
    """A note for each unresolved Langfuse prompt reference, kept as literal text."""
    for reference in dict.fromkeys(_PROMPT_REFERENCE.findall(text)):
        notes.append(
            f"{where}: prompt reference {reference} was not resolved: kept as literal text "
            "(export with resolve=true)"
        )
