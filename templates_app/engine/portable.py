"""Template files: one template (metadata, aliases, sample variables, versions, labels) as a
readable YAML or JSON file, for a directory kept in git. Pure: text in, plain data out.

A file is::

    slug: document-qa
    name: Document Q&A
    description: ...
    aliases: []
    sample_variables: {question: ...}
    versions:
    - number: 1
      message: first
      author: alice
      body:
        model: sim/claude-sonnet-4-5
        messages:
        - role: system
          content: |-
            You answer from the document.
            Quote it.
    labels:
      production: 1

Writing is stable: the file's own keys in that order, a body's keys in their authored order
(its ``content_hash`` depends on it), multi-line strings as YAML block strings where YAML can
hold them exactly (else quoted), no line folding. So exporting the same templates twice gives
the same bytes, and a diff shows only what changed.

Reading keeps YAML to the JSON data model: only ``true``/``false`` are booleans and no date
is read as a date, so a hand-written ``yes`` or ``2026-12-04`` stays the string written. Every
value's line is known, so a problem names ``file:line``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import CachetError
from .labels import label_name_problem
from .names import ALIAS_MAX_LENGTH, ALIAS_RULE, SLUG_MAX_LENGTH, SLUG_RULE, is_alias, is_slug

FILE_KEYS = ("slug", "name", "description", "aliases", "sample_variables", "versions", "labels")
VERSION_KEYS = ("number", "message", "author", "body")
REQUIRED_KEYS = ("slug", "versions")
SUFFIXES = (".yaml", ".yml", ".json")


class TemplateFileError(CachetError):
    """A template file cannot be read; the message names the file, line and path."""

    type = "invalid_template_file"


# --- writing --------------------------------------------------------------------------------


# Characters a YAML reader takes for line breaks (and folds) or a byte-order mark wherever
# they stand unescaped: a string holding one is written double-quoted, with escapes.
_READER_UNSAFE = re.compile("[\r\x85\u2028\u2029\ufeff]")


class _Dumper(yaml.SafeDumper):
    """Block strings for multi-line text; lists indented under their key; escapes where a
    reader would not give back the very characters written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        if isinstance(self.event.value, str) and _READER_UNSAFE.search(self.event.value):
            return '"'
        return super().choose_scalar_style()

    def write_double_quoted(self, text: str, split: bool = True) -> None:
        if not _READER_UNSAFE.search(text):
            return super().write_double_quoted(text, split)
        keep, self.allow_unicode = self.allow_unicode, False  # every non-ASCII escaped
        try:
            return super().write_double_quoted(text, split)
        finally:
            self.allow_unicode = keep


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # The emitter keeps "|" only where a block holds the text exactly; else it quotes.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def ordered(file: dict[str, Any]) -> dict[str, Any]:
    """``file`` with its keys, and each version's, in the file order (bodies untouched)."""
    out = {key: file[key] for key in FILE_KEYS if key in file}
    out |= {key: value for key, value in file.items() if key not in out}
    out["versions"] = [
        {key: version[key] for key in VERSION_KEYS if key in version}
        | {key: value for key, value in version.items() if key not in VERSION_KEYS}
        for version in file.get("versions", [])
    ]
    return out


def dumps(file: dict[str, Any], *, fmt: str = "yaml") -> str:
    """The text of a template file, as YAML (``fmt="yaml"``) or JSON (``"json"``)."""
    data = ordered(file)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=2**31 - 1,  # never fold a long line: a diff shows the line that changed
        default_flow_style=False,
    )


def file_name(slug: str, *, fmt: str = "yaml") -> str:
    """The name of a template's file in a directory."""
    return f"{slug}.{fmt}"


# --- reading --------------------------------------------------------------------------------


# The scalars read as other than strings: JSON's own spellings only (YAML 1.1 would also read
# yes/no, 10:30, 0x1F, 1_000, .inf and dates).
_JSON_SCALARS = (
    ("tag:yaml.org,2002:bool", r"^(?:true|false)$", ["t", "f"]),
    ("tag:yaml.org,2002:null", r"^(?:null|~|)$", ["n", "~", ""]),
    ("tag:yaml.org,2002:int", r"^-?(?:0|[1-9][0-9]*)$", list("-0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)$",
        list("-0123456789"),
    ),
)


class _Loader(yaml.SafeLoader):
    """YAML read as JSON data: scalars as JSON spells them, string keys, each key once."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if not isinstance(key, str):
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is not a string: quote it", key_node.start_mark
                    )
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"key '{key}' is given twice (first on line {seen[key]})",
                        key_node.start_mark,
                    )
                seen[key] = line
        return super().construct_mapping(node, deep)


_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in _JSON_SCALARS:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)
# What the loader reads as a number or a boolean is quoted when it is a string.
for _tag, _pattern, _first in _JSON_SCALARS:
    _Dumper.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def yaml_data(text: str) -> Any:
    """YAML text read as JSON data, by the rules of template files (JSON's spellings of
    numbers, booleans and null; string keys, each once). Raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader: plain data only


@dataclass(frozen=True)
class Place:
    """Where a value starts in its file: 1-based ``line``; ``block`` when it is a block
    string, whose text starts on the line after."""

    line: int
    block: bool = False


@dataclass
class TemplateFile:
    """A template file read: its data, and where each path's value is."""

    source: str
    data: dict[str, Any]
    places: dict[str, Place] = field(default_factory=dict)

    def line(self, path: str, text_line: int | None = None) -> int | None:
        """The file line of ``path`` (``versions[0].body.messages[1].content``), or of its
        nearest parent the file has; with ``text_line``, that line of a text value."""
        probe = path
        while probe:
            place = self.places.get(probe)
            if place is not None:
                if text_line and probe == path and place.block:
                    return place.line + text_line  # a block's text starts on the next line
                return place.line  # a quoted text holds its line breaks as escapes
            probe = _parent(probe)
        return None

    def where(self, path: str, text_line: int | None = None) -> str:
        """``file:line`` of ``path`` (just the file when no line is known)."""
        line = self.line(path, text_line)
        return f"{self.source}:{line}" if line else self.source


def _parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def loads(text: str, *, source: str) -> TemplateFile:
    """Read a template file (YAML, or JSON when ``source`` ends in ``.json``), checking its
    shape. Raises ``TemplateFileError`` naming ``source``, the line and what is wrong."""
    is_json = source.endswith(".json")
    if is_json:
        try:
            data = json.loads(text, object_pairs_hook=_once_each)
        except json.JSONDecodeError as exc:
            raise TemplateFileError(f"{source}:{exc.lineno}: not JSON: {exc.msg}") from None
        except ValueError as exc:
            raise TemplateFileError(f"{source}: {exc}") from None
        places = _json_places(text)
    else:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            if not isinstance(exc, yaml.constructor.ConstructorError):
                problem = f"not YAML: {problem}"
            raise TemplateFileError(f"{source}{line}: {problem}") from None
        finally:
            loader.dispose()
        places = dict(_places(node, "")) if node is not None else {}
    file = TemplateFile(source, data, places)
    check_shape(file)
    return file


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose every key is given once (JSON would keep the last silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key '{key}' is given twice in one object")
        out[key] = value
    return out


def _json_places(text: str) -> dict[str, Place]:
    """Lines of a JSON file's values (JSON is YAML to the composer; none if it disagrees)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return {}
    return dict(_places(node, "")) if node is not None else {}


def _places(node: yaml.Node, path: str) -> Iterator[tuple[str, Place]]:
    yield path, Place(node.start_mark.line + 1, getattr(node, "style", None) in ("|", ">"))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            yield from _places(value, f"{path}.{name}" if path else name)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _places(item, f"{path}[{index}]")


def check_shape(file: TemplateFile) -> None:
    """Raise ``TemplateFileError`` (file, line, path, what) unless ``file`` is a template file."""
    data = file.data

    def fail(path: str, message: str) -> None:
        raise TemplateFileError(f"{file.where(path)}: {path or 'the file'}: {message}")

    if not isinstance(data, dict):
        fail("", "a template file holds one mapping (slug, name, versions, …)")
    unknown = [key for key in data if key not in FILE_KEYS]
    if unknown:
        fail(unknown[0], f"unknown key (a template file has {', '.join(FILE_KEYS)})")
    for key in REQUIRED_KEYS:
        if key not in data:
            fail("", f"'{key}' is missing")
    _expect(file, "slug", data["slug"], str, "a string")
    if not is_slug(data["slug"]):
        fail("slug", f"'{data['slug'][:120]}' is not a slug: up to {SLUG_MAX_LENGTH} {SLUG_RULE}")
    for key in ("name", "description"):
        if key in data:
            _expect(file, key, data[key], str, "a string")
    if "aliases" in data:
        _expect(file, "aliases", data["aliases"], list, "a list of strings")
        for index, alias in enumerate(data["aliases"]):
            _expect(file, f"aliases[{index}]", alias, str, "a string")
            if not is_alias(alias):
                fail(f"aliases[{index}]", f"not an alias: up to {ALIAS_MAX_LENGTH} {ALIAS_RULE}")
            if alias == data["slug"]:
                fail(f"aliases[{index}]", "a template's alias cannot be its own slug")
    if "sample_variables" in data:
        _expect(
            file, "sample_variables", data["sample_variables"], dict, "a mapping of names to values"
        )
    _expect(file, "versions", data["versions"], list, "a list of versions")
    if not data["versions"]:
        fail("versions", "a template file holds at least one version")
    numbers: set[int] = set()
    for index, version in enumerate(data["versions"]):
        path = f"versions[{index}]"
        _expect(file, path, version, dict, "a mapping (number, message, author, body)")
        unknown = [key for key in version if key not in VERSION_KEYS]
        if unknown:
            fail(f"{path}.{unknown[0]}", f"unknown key (a version has {', '.join(VERSION_KEYS)})")
        if "body" not in version:
            fail(path, "'body' is missing")
        for key in ("message", "author"):
            if key in version:
                _expect(file, f"{path}.{key}", version[key], str, "a string")
        number = version.get("number", index + 1)
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            fail(f"{path}.number", "a version number is a whole number from 1")
        if number in numbers:
            fail(f"{path}.number", f"version {number} is in the file twice")
        numbers.add(number)
    if "labels" in data:
        _expect(file, "labels", data["labels"], dict, "a mapping of label names to version numbers")
        for label, number in data["labels"].items():
            problem = label_name_problem(label)
            if problem is not None:
                fail(f"labels.{label}", problem)
            if number not in numbers or isinstance(number, bool):
                fail(
                    f"labels.{label}", f"points at version {number!r}, which the file does not hold"
                )


def _expect(file: TemplateFile, path: str, value: Any, kind: type, what: str) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TemplateFileError(f"{file.where(path)}: {path}: must be {what}")


def versions(file: TemplateFile) -> list[tuple[int, dict[str, Any]]]:
    """``(number, version)`` of each version in the file, numbered by position when the file
    gives no numbers."""
    return [
        (version.get("number", index + 1), version)
        for index, version in enumerate(file.data["versions"])
    ]
