"""Importers: prompts kept elsewhere (Langfuse, Portkey, OpenAI prompt objects, dotprompt)
translated into Cachet's template files. Pure: each takes documents already read (parsed JSON,
or text) and returns template files as plain data, with notes on what it could not translate.

A template file (``engine/portable.py`` reads and writes them) is a dict::

    {"slug": "support-triage", "name": "Support triage", "description": "",
     "aliases": ["pmpt_abc"], "sample_variables": {"question": "…"},
     "versions": [{"number": 1, "message": "…", "author": "…", "body": {…}}],
     "labels": {"production": 1}}

``versions`` are in order; a label names a version by its ``number`` in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..names import SLUG_MAX_LENGTH

# A model that needs no key: what an import gets when its source names none Cachet knows.
DEFAULT_MODEL = "sim/claude-sonnet-4-5"
# The provider a bare model name belongs to, by its first letters.
_PROVIDER_OF_PREFIX = (
    ("claude", "anthropic"),
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt", "openai"),
)
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")  # what a slug has no room for (engine/names.py)


@dataclass
class Imported:
    """What an importer made: template files, and one note per thing it could not carry over
    (each note starts with the source it is about)."""

    templates: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Where each template came from, by slug: the document and item, for its errors.
    sources: dict[str, str] = field(default_factory=dict)


def slug_of(name: str) -> str:
    """A template slug for a source's prompt name: lowercase letters and digits, every run of
    other characters one ``-`` (``support/Escalation_v2`` → ``support-escalation-v2``)."""
    slug = _SLUG_JUNK.sub("-", name.strip().lower())[:SLUG_MAX_LENGTH].strip("-")
    return slug or "imported"


def cachet_model(name: Any, *, source: str, notes: list[str]) -> str:
    """The Cachet model (``provider/model-id``) for a source's model name; the default, with a
    note, when there is none or its provider cannot be told."""
    if isinstance(name, str) and name.strip():
        name = name.strip()
        if "/" in name:
            return name
        for prefix, provider in _PROVIDER_OF_PREFIX:
            if name.lower().startswith(prefix):
                return f"{provider}/{name}"
        notes.append(f"{source}: model {name!r} names no provider Cachet knows: {DEFAULT_MODEL}")
    else:
        notes.append(f"{source}: no model given: {DEFAULT_MODEL}")
    return DEFAULT_MODEL


def declare(names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Variable declarations for names a source used: required strings, in first-use order."""
    return {name: {"type": "string", "required": True} for name in dict.fromkeys(names)}


# Text Jinja would read as syntax: the openers of expressions, statements and comments.
_JINJA_OPENERS = re.compile(r"(\{\{|\{%|\{#|%\}|#\})")


def literal(text: str) -> str:
    """``text`` as a Jinja template that renders to exactly ``text``: every ``{{``, ``{%``,
    ``{#`` (and closer) becomes an expression printing it."""
    return _JINJA_OPENERS.sub(lambda m: "{{ " + repr(m.group(1)) + " }}", text)


# ``{{name}}`` or ``{{ name }}``: the variables of Langfuse and OpenAI prompt objects.
_SIMPLE_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def simple_variables(text: str) -> tuple[str, list[str]]:
    """A text whose only syntax is ``{{name}}`` as Jinja (``{{ name }}``, the rest literal),
    and the names it uses in order."""
    out, names, end = [], [], 0
    for match in _SIMPLE_VARIABLE.finditer(text):
        out.append(literal(text[end : match.start()]))
        out.append("{{ " + match.group(1) + " }}")
        names.append(match.group(1))
        end = match.end()
    out.append(literal(text[end:]))
    return "".join(out), names
