"""Mustache (Portkey) and Handlebars (dotprompt) templates as Jinja. Pure: no Django.

``to_jinja(text, dialect=...)`` returns the Jinja text, the top-level variable names it uses
(first use first) and notes on what it could not translate. The Jinja renders what the
source would, with one difference the notes name: Mustache HTML-escapes ``{{name}}``, Cachet
inserts values as they are. ``"handlebars"`` is Handlebars as dotprompt compiles it
(``noEscape``, its helpers ``role``, ``history``, ``media``, ``section``, ``json``,
``ifEquals``, ``unlessEquals``).

Translated: ``{{name}}``, ``{{a.b}}``, ``{{{name}}}``, ``{{& name}}``, comments, sections
``{{#x}}``/``{{^x}}`` (a condition; a loop when the section prints ``{{.}}``/``{{this}}``),
``{{#if}}``/``{{else if}}``/``{{else}}``, ``{{#unless}}``, ``{{#each}}`` (``this``,
``@index``, ``@first``, ``@last``, ``../``, ``@root``, ``as |item i|``), ``{{#with}}``,
``~`` whitespace control and standalone lines (a block tag alone on its line takes the line
with it, as in the source). Every other tag is noted and kept as text (partials, custom
helpers, ``{{json x}}``) or dropped (dotprompt's markers). A text whose blocks do not
balance, or that changes delimiters, is kept as written, with a note.

This module is the translator only: what the importers make of a translation (declarations
from its ``uses``, sample values from its ``fields``) is in ``pieces``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..variables import NAME_RE, RESERVED_NAMES
from . import literal

DIALECTS = ("mustache", "handlebars")
# How the note on Mustache's HTML escaping begins (an importer may keep one per template).
ESCAPING_NOTE = "Mustache HTML-escapes"
# Words Jinja reads as operators: never a variable name, never a bare attribute.
JINJA_WORDS = frozenset({"and", "or", "not", "in", "is", "if", "else"})
# Tags a line may hold alone, and lose with it (Mustache spec, Handlebars WhitespaceControl).
STANDALONE = frozenset({"#", "^", "/", "!", "else"})  # partials stay, as text
# dotprompt helpers that mark structure, not text: the importer splits messages at `role`.
MARKERS = ("role", "history", "media", "section")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DICT_ATTRIBUTES = frozenset(dir(dict))
_HB_SEGMENT = re.compile(r"[^./\[\]]+")
_BLOCK_PARAMS = re.compile(r"\|\s*([A-Za-z_]\w*)(?:\s+([A-Za-z_]\w*))?\s*\|\Z")
# A word of a tag: quoted strings, ``|block params|``, ``(subexpressions)`` and ``[segments]``
# are kept whole.
_WORD = re.compile(
    r"(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\|[^|]*\||\([^)]*\)|\[[^\]]*\]|[^\s\[\]\"'|()])+"
)


@dataclass
class Translation:
    """A text as Jinja: the names it reads at the top level (first use first), how each is
    used (``value``, ``object`` for ``a.b``, ``condition``, ``list``), and the notes."""

    text: str
    names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    uses: dict[str, set[str]] = field(default_factory=dict)
    # The attributes read of each name (``a.b.c`` is ``("b", "c")`` under ``a``).
    fields: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)


def to_jinja(text: str, *, dialect: str) -> tuple[str, list[str], list[str]]:
    """``text`` (Mustache or Handlebars, per ``dialect``) as Jinja; returns the Jinja text,
    the top-level variable names it uses in first-use order, and notes."""
    result = translate(text, dialect=dialect)
    return result.text, result.names, result.notes


def translate(text: str, *, dialect: str) -> Translation:
    """``text`` as Jinja, with how each top-level name is used: what ``to_jinja`` returns,
    and what an importer needs to declare the names."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
    try:
        texts, tags = _scan(text, dialect)
        _strip_whitespace(texts, tags)
        tree = _tree(texts, tags, dialect)
    except _Untranslatable as exc:
        return Translation(literal(text), notes=[f"{exc}: the text is kept as written"])
    return _Emitter(text, dialect).run(tree)


# --- reading tags ---------------------------------------------------------------------------


class _Untranslatable(Exception):
    """The whole text cannot be translated (the message says why)."""


class _BadTag(Exception):
    """One tag (or one block) cannot be translated; it is kept as text."""


@dataclass
class _Tag:
    """A ``{{…}}`` tag: its sigil (``""`` a variable, ``{``/``&`` unescaped, ``!``, ``#``,
    ``^``, ``/``, ``>``, ``else``), what follows the sigil, and ``~`` on either side."""

    raw: str
    sigil: str
    content: str
    start: int
    end: int
    strip_left: bool = False
    strip_right: bool = False

    @property
    def words(self) -> list[str]:
        """The words of the content (quoted strings, ``|params|``, ``(…)``, ``[…]`` whole)."""
        return _WORD.findall(self.content)

    @property
    def name(self) -> str:
        """The first word: a block's helper or key, which its closing tag repeats."""
        return self.words[0] if self.words else ""

    @property
    def args(self) -> list[str]:
        """The words after the name."""
        return self.words[1:]


def _scan(text: str, dialect: str) -> tuple[list[str], list[_Tag]]:
    """The text between tags (one more than the tags) and the tags, in order."""
    texts: list[str] = []
    tags: list[_Tag] = []
    pending: list[str] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            pending.append(text[pos:])
            break
        if dialect == "handlebars" and text[start - 1 : start] == "\\":
            if text[start - 2 : start] == "\\\\":  # \\{{: a backslash, then a real tag
                pending.append(text[pos : start - 1])
            else:  # \{{: the braces are text
                pending.append(text[pos : start - 1] + "{{")
                pos = start + 2
                continue
        else:
            pending.append(text[pos:start])
        tag = _read_tag(text, start, dialect)
        texts.append("".join(pending))
        pending = []
        tags.append(tag)
        pos = tag.end
    texts.append("".join(pending))
    return texts, tags


def _read_tag(text: str, start: int, dialect: str) -> _Tag:
    """The tag opening at ``start``; raises ``_Untranslatable`` when it never closes."""
    handlebars = dialect == "handlebars"
    at = start + 2
    if handlebars and text.startswith("{{", at):
        raise _Untranslatable("a raw block {{{{…}}}} is not translated")
    strip_left = handlebars and text.startswith("~", at)
    at += strip_left
    if text.startswith("{", at):
        sigil, closing = "{", re.compile(r"\}~?\}\}" if handlebars else r"\}\}\}")
        at += 1
    elif text.startswith("!--", at) and handlebars:
        sigil, closing = "!", re.compile(r"--~?\}\}")
        at += 3
    elif text.startswith("!", at):
        sigil, closing = "!", re.compile(r"~?\}\}" if handlebars else r"\}\}")
        at += 1
    else:
        sigil, closing = "", re.compile(r"~?\}\}" if handlebars else r"\}\}")
    found = closing.search(text, at)
    if found is None:
        snippet = text[start : start + 30].split("\n")[0]
        raise _Untranslatable(f"the tag {snippet!r} is never closed with }}}}")
    raw = text[start : found.end()]
    inner = text[at : found.start()].strip()
    strip_right = "~" in found.group()
    if sigil == "":
        if inner[:1] in ("#", "^", "/", "&", ">", "="):
            sigil, inner = inner[0], inner[1:].strip()
        elif handlebars and (inner == "else" or inner.startswith("else ")):
            sigil, inner = "else", inner[4:].strip()
        if sigil == "=":
            raise _Untranslatable(f"{raw} changes the delimiters, which is not translated")
        if handlebars and sigil == "^" and not inner:
            sigil = "else"  # {{^}} is Handlebars' other spelling of {{else}}
    return _Tag(raw, sigil, inner, start, found.end(), strip_left, strip_right)


def _strip_whitespace(texts: list[str], tags: list[_Tag]) -> None:
    """Remove, in place, the line of each standalone block tag (computed on the text as
    written) and the whitespace a ``~`` asks to strip."""
    cut_start = [0] * len(texts)
    cut_end = [0] * len(texts)
    last = len(tags) - 1
    for index, tag in enumerate(tags):
        if tag.sigil not in STANDALONE:
            continue
        before, after = texts[index], texts[index + 1]
        line_start = re.search(r"\n([ \t]*)\Z", before) or (
            re.fullmatch(r"([ \t]*)", before) if index == 0 else None
        )
        line_end = re.match(r"[ \t]*\r?\n", after) or (
            re.fullmatch(r"[ \t]*", after) if index == last else None
        )
        if line_start and line_end:
            cut_end[index] = len(line_start.group(1))
            cut_start[index + 1] = line_end.end()
    for index, text in enumerate(texts):
        texts[index] = text[cut_start[index] : len(text) - cut_end[index]]
    for index, tag in enumerate(tags):
        if tag.strip_left:
            texts[index] = texts[index].rstrip()
        if tag.strip_right:
            texts[index + 1] = texts[index + 1].lstrip()


@dataclass
class _Block:
    """A section or block helper: its opening tag, body, ``{{else}}`` branches, closing tag."""

    open: _Tag
    body: list[Any]
    branches: list[tuple[_Tag, list[Any]]]
    close: _Tag | None = None


def _tree(texts: list[str], tags: list[_Tag], dialect: str) -> list[Any]:
    """Texts, leaf tags and ``_Block``s, nested; raises ``_Untranslatable`` when the blocks
    do not balance."""
    root: list[Any] = []
    stack: list[_Block] = []
    current = root
    for index, tag in enumerate(tags):
        if texts[index]:
            current.append(texts[index])
        if tag.sigil in ("#", "^"):
            block = _Block(tag, [], [])
            current.append(block)
            stack.append(block)
            current = block.body
        elif tag.sigil == "else":
            if not stack:
                raise _Untranslatable(f"{tag.raw} is outside any block")
            branch: list[Any] = []
            stack[-1].branches.append((tag, branch))
            current = branch
        elif tag.sigil == "/":
            if not stack:
                raise _Untranslatable(f"{tag.raw} closes no open section")
            block = stack.pop()
            expected = block.open.name if dialect == "handlebars" else block.open.content
            if tag.content != expected:
                raise _Untranslatable(f"{tag.raw} closes {block.open.raw}")
            block.close = tag
            current = _open_body(stack[-1]) if stack else root
        else:
            current.append(tag)
    if stack:
        raise _Untranslatable(f"{stack[-1].open.raw} is never closed")
    if texts[-1]:
        current.append(texts[-1])
    return root


def _open_body(block: _Block) -> list[Any]:
    """Where a block's next node goes: its last ``{{else}}`` branch, else its body."""
    return block.branches[-1][1] if block.branches else block.body


# --- writing Jinja --------------------------------------------------------------------------


@dataclass
class _Scope:
    """A context a block opened: ``expr`` is its value in Jinja; ``params`` its block
    parameters (``as |item i|``) as Jinja; ``loop`` whether it is a ``{% for %}``."""

    expr: str
    params: dict[str, str]
    loop: bool
    changes_context: bool


class _Out:
    """Jinja being written: literal text is escaped when code follows it."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pending: list[str] = []

    def text(self, text: str) -> None:
        self.pending.append(text)

    def code(self, code: str) -> None:
        self.flush()
        if self.parts and self.parts[-1].endswith("{"):  # "{" then "{{ x }}" reads as "{{{"
            self.parts[-1] = self.parts[-1][:-1] + "{{ '{' }}"
        self.parts.append(code)

    def flush(self) -> None:
        if self.pending:
            self.parts.append(literal("".join(self.pending)))
            self.pending = []

    def value(self) -> str:
        self.flush()
        return "".join(self.parts)


@dataclass
class _Ref:
    """A name resolved: its Jinja expression, and the top-level name it reads (if any)."""

    expr: str
    root: str | None
    kind: str
    path: tuple[str, ...] = ()


class _Emitter:
    """Writes a tree as Jinja, recording names, their uses and the notes."""

    def __init__(self, source: str, dialect: str) -> None:
        self.source = source
        self.dialect = dialect
        self.result = Translation("")
        self.words = set(re.findall(r"[A-Za-z_]\w*", source))
        self.loop_names: set[str] = set()
        self.guessed_conditions: list[tuple[str, str, str]] = []
        self.escaped: str | None = None

    @property
    def engine(self) -> str:
        return "Mustache" if self.dialect == "mustache" else "Handlebars"

    def run(self, tree: list[Any]) -> Translation:
        out = _Out()
        self.nodes(tree, out, [])
        self.result.text = out.value()
        for root, raw, name in self.guessed_conditions:
            if "value" not in self.result.uses.get(root, set()):
                self.note(
                    f"{raw} is translated as a condition ({{% if %}}); {self.engine} repeats "
                    f"it once per item when {name} is a list, and reads the names inside on "
                    f"{name} itself when it is an object (here they are read at the top level)"
                )
        if self.escaped:
            self.note(
                f"{ESCAPING_NOTE} {self.escaped} (& < > \" '); Cachet inserts values as they are"
            )
        return self.result

    def note(self, note: str) -> None:
        if note not in self.result.notes:
            self.result.notes.append(note)

    def use(self, ref: _Ref, kind: str | None = None) -> None:
        if ref.root is None:
            return
        if ref.root not in self.result.uses:
            self.result.names.append(ref.root)
            self.result.uses[ref.root] = set()
        self.result.uses[ref.root].add(kind or ref.kind)
        if ref.path:
            self.result.fields.setdefault(ref.root, set()).add(ref.path)

    def fresh(self) -> str:
        """A loop variable no name in the text (or another loop) uses."""
        for n in range(1, 1000):
            name = "item" if n == 1 else f"item{n}"
            if name not in self.words and name not in self.loop_names:
                self.loop_names.add(name)
                return name
        raise _BadTag("no free name for a loop variable")

    # nodes

    def nodes(self, nodes: list[Any], out: _Out, scopes: list[_Scope]) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.text(node)
            elif isinstance(node, _Block):
                self.block(node, out, scopes)
            else:
                self.leaf(node, out, scopes)

    def leaf(self, tag: _Tag, out: _Out, scopes: list[_Scope]) -> None:
        if tag.sigil == "!":
            return
        if tag.sigil == ">":
            self.note(f"{tag.raw}: partials are not translated (kept as text)")
            out.text(tag.raw)
            return
        words = tag.words
        if self.dialect == "handlebars" and words and words[0] in MARKERS:
            self.marker(tag, words[0])
            return
        if self.dialect == "handlebars" and len(words) > 1:
            self.note(f"{tag.raw}: the helper {words[0]} is not translated (kept as text)")
            out.text(tag.raw)
            return
        try:
            ref = self.resolve(tag.content, scopes)
        except _BadTag as exc:
            self.note(f"{tag.raw}: {exc} (kept as text)")
            out.text(tag.raw)
            return
        self.use(ref)
        if self.dialect == "mustache" and tag.sigil == "" and self.escaped is None:
            self.escaped = tag.raw
        out.code("{{ " + ref.expr + " }}")

    def marker(self, tag: _Tag, helper: str) -> None:
        if helper == "role":
            self.note(f"{tag.raw} starts a message: split the text there (dropped)")
        elif helper == "history":
            self.note(
                f"{tag.raw} dropped: Cachet appends the caller's messages after the template's own"
            )
        else:
            self.note(f"{tag.raw} is not carried over (dropped)")

    def block(self, block: _Block, out: _Out, scopes: list[_Scope]) -> None:
        """A block as Jinja; one that cannot be translated is kept as text, and what it
        recorded is forgotten."""
        saved = (
            len(out.parts),
            list(out.pending),
            list(self.result.names),
            {name: set(kinds) for name, kinds in self.result.uses.items()},
            {name: set(paths) for name, paths in self.result.fields.items()},
            list(self.guessed_conditions),
            self.escaped,
        )
        try:
            self.block_code(block, out, scopes)
        except _BadTag as exc:
            parts, out.pending, self.result.names, self.result.uses = saved[:4]
            self.result.fields, self.guessed_conditions, self.escaped = saved[4:]
            del out.parts[parts:]
            assert block.close is not None
            self.note(f"{block.open.raw}: {exc} (the block is kept as text)")
            out.text(self.source[block.open.start : block.close.end])

    def block_code(self, block: _Block, out: _Out, scopes: list[_Scope]) -> None:
        tag = block.open
        if self.dialect == "mustache" or not tag.args or tag.sigil == "^":
            self.section(block, out, scopes)
            return
        helper = tag.name
        if helper in ("if", "unless"):
            ref = self.condition_ref(tag, scopes)
            test = ref.expr if helper == "if" else f"not {_grouped(ref.expr)}"
            self.conditional(block, test, out, scopes)
        elif helper == "each":
            self.each(block, out, scopes)
        elif helper == "with":
            self.with_(block, out, scopes)
        elif helper in ("ifEquals", "unlessEquals"):
            if len(tag.args) != 2:
                raise _BadTag(f"{helper} takes two arguments")
            left, right = (self.operand(arg, scopes) for arg in tag.args)
            test = f"{left} {'==' if helper == 'ifEquals' else '!='} {right}"
            self.conditional(block, test, out, scopes)
        else:
            raise _BadTag(f"the block helper {helper} is not translated")

    def condition_ref(self, tag: _Tag, scopes: list[_Scope]) -> _Ref:
        if len(tag.args) != 1 or tag.args[0].startswith(("(", '"', "'")):
            raise _BadTag(f"{tag.name} with {' '.join(tag.args) or 'no argument'}")
        ref = self.resolve(tag.args[0], scopes)
        self.use(ref, "condition" if ref.kind == "value" else ref.kind)
        return ref

    def operand(self, arg: str, scopes: list[_Scope]) -> str:
        if arg[:1] in ('"', "'"):
            return repr(arg[1:-1].replace("\\" + arg[0], arg[0]))
        if re.fullmatch(r"-?\d+(\.\d+)?", arg):
            return arg
        if arg in ("true", "false", "null", "undefined"):
            return {"true": "true", "false": "false"}.get(arg, "none")
        ref = self.resolve(arg, scopes)
        self.use(ref)
        return ref.expr

    def conditional(self, block: _Block, test: str, out: _Out, scopes: list[_Scope]) -> None:
        """``{% if test %}`` with the block's branches: ``{{else if x}}`` is ``{% elif %}``."""
        out.code("{% if " + test + " %}")
        self.nodes(block.body, out, scopes)
        for tag, body in block.branches:
            words = tag.content.split(None, 1)
            if not words:
                out.code("{% else %}")
            elif words[0] in ("if", "unless") and len(words) == 2:
                ref = self.resolve(words[1].strip(), scopes)
                self.use(ref, "condition" if ref.kind == "value" else ref.kind)
                branch_test = ref.expr if words[0] == "if" else f"not {_grouped(ref.expr)}"
                out.code("{% elif " + branch_test + " %}")
            else:
                raise _BadTag(f"{tag.raw} is not translated")
            self.nodes(body, out, scopes)
        out.code("{% endif %}")

    def each(self, block: _Block, out: _Out, scopes: list[_Scope]) -> None:
        tag = block.open
        args = tag.args
        params: dict[str, str] = {}
        var = None
        if len(args) == 3 and args[1] == "as":
            found = _BLOCK_PARAMS.match(args[2])
            if not found or not usable_name(found.group(1)):
                raise _BadTag(f"block parameters {args[2]}")
            var = found.group(1)
            self.loop_names.add(var)
            params[var] = var
            if found.group(2):
                params[found.group(2)] = "loop.index0"
        elif len(args) != 1:
            raise _BadTag(f"each with {' '.join(args)}")
        ref = self.resolve(args[0], scopes)
        self.use(ref, "list" if ref.kind == "value" else ref.kind)
        var = var or self.fresh()
        self.loop(block, ref.expr, var, params, out, scopes)

    def loop(
        self,
        block: _Block,
        expr: str,
        var: str,
        params: dict[str, str],
        out: _Out,
        scopes: list[_Scope],
    ) -> None:
        """``{% for var in expr %}`` over the block, ``{{else}}`` as the loop's ``{% else %}``."""
        out.code("{% for " + var + " in " + expr + " %}")
        self.nodes(block.body, out, [*scopes, _Scope(var, params, True, True)])
        for tag, body in block.branches:
            if tag.content:
                raise _BadTag(f"{tag.raw} in a loop is not translated")
            out.code("{% else %}")
            self.nodes(body, out, scopes)
        out.code("{% endfor %}")

    def with_(self, block: _Block, out: _Out, scopes: list[_Scope]) -> None:
        args = block.open.args
        params: dict[str, str] = {}
        ref = self.resolve(args[0], scopes)
        if len(args) == 3 and args[1] == "as":
            found = _BLOCK_PARAMS.match(args[2])
            if not found or found.group(2):
                raise _BadTag(f"block parameters {args[2]}")
            params[found.group(1)] = ref.expr
        elif len(args) != 1:
            raise _BadTag(f"with {' '.join(args)}")
        self.use(ref, "object")
        out.code("{% if " + ref.expr + " %}")
        self.nodes(block.body, out, [*scopes, _Scope(ref.expr, params, False, True)])
        for tag, body in block.branches:
            if tag.content:
                raise _BadTag(f"{tag.raw} is not translated")
            out.code("{% else %}")
            self.nodes(body, out, scopes)
        out.code("{% endif %}")

    def section(self, block: _Block, out: _Out, scopes: list[_Scope]) -> None:
        """A Mustache section ``{{#x}}`` (a loop when it prints ``{{.}}``, else a condition)
        or an inverted one ``{{^x}}``."""
        tag = block.open
        ref = self.resolve(tag.content, scopes)
        if tag.sigil == "^":
            self.use(ref, "condition" if ref.kind == "value" else ref.kind)
            self.conditional(block, f"not {_grouped(ref.expr)}", out, scopes)
        elif _prints_item(block.body, self.dialect):
            self.use(ref, "list" if ref.kind == "value" else ref.kind)
            self.loop(block, ref.expr, self.fresh(), {}, out, scopes)
        else:
            self.use(ref, "condition" if ref.kind == "value" else ref.kind)
            if ref.root is not None:
                self.guessed_conditions.append((ref.root, tag.raw, tag.content))
            self.conditional(block, ref.expr, out, scopes)

    # names

    def resolve(self, path: str, scopes: list[_Scope]) -> _Ref:
        """The Jinja expression of ``path`` where ``scopes`` are open; raises ``_BadTag``."""
        if self.dialect == "mustache":
            if not path or any(c.isspace() for c in path):
                raise _BadTag(f"{path!r} is not a name")
            return self.resolve_mustache(path, scopes)
        if not path:
            raise _BadTag("an empty name")
        return self.resolve_handlebars(path, scopes)

    def resolve_mustache(self, path: str, scopes: list[_Scope]) -> _Ref:
        # Mustache looks a name up in every open context, innermost first; the loops this
        # translation opens iterate plain values (they print {{.}}), so names are the root's.
        if path == ".":
            loops = [scope for scope in scopes if scope.loop]
            if not loops:
                raise _BadTag("{{.}} outside a list section")
            return _Ref(loops[-1].expr, None, "value")
        segments = path.split(".")
        if any(not segment for segment in segments):
            raise _BadTag(f"{path!r} is not a name")
        return _root_ref(segments)

    def resolve_handlebars(self, path: str, scopes: list[_Scope]) -> _Ref:
        if path.startswith("@"):
            return self.data_variable(path, scopes)
        ups = 0
        while path.startswith("../"):
            ups, path = ups + 1, path[3:]
        explicit = True
        if path in ("this", "."):
            path = ""
        elif path.startswith(("this.", "this/")):
            path = path[5:]
        elif path.startswith("./"):
            path = path[2:]
        else:
            explicit = False
        segments = _hb_segments(path)
        if segments and not explicit and ups == 0:
            for scope in reversed(scopes):
                if segments[0] in scope.params:
                    return _attribute_ref(scope.params[segments[0]], segments[1:])
        contexts = [scope for scope in scopes if scope.changes_context]
        if ups > len(contexts):
            raise _BadTag(f"{'../' * ups} goes above the top level")
        target = contexts[: len(contexts) - ups]
        if not target:
            if not segments:
                raise _BadTag("{{this}} at the top level (the whole input) is not translated")
            return _root_ref(segments)
        return _attribute_ref(target[-1].expr, segments)

    def data_variable(self, path: str, scopes: list[_Scope]) -> _Ref:
        name, _, rest = path[1:].partition(".")
        if name == "root":
            segments = _hb_segments(rest)
            if not segments:
                raise _BadTag("@root (the whole input) is not translated")
            return _root_ref(segments)
        loops = [scope for scope in scopes if scope.loop]
        if name in ("index", "first", "last") and not rest and loops:
            return _Ref({"index": "loop.index0"}.get(name, f"loop.{name}"), None, "value")
        if name == "key":
            raise _BadTag("@key (iterating an object's keys) is not translated")
        raise _BadTag(f"@{name} is not translated")


def _hb_segments(path: str) -> list[str]:
    """A Handlebars path's segments (``a.b``, ``a/b``, ``a.[b c]``); raises ``_BadTag``."""
    segments: list[str] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "[":
            end = path.find("]", pos)
            if end < 0:
                raise _BadTag(f"{path!r} is not a name")
            segments.append(path[pos + 1 : end])
            pos = end + 1
        else:
            found = _HB_SEGMENT.match(path, pos)
            if found is None:
                raise _BadTag(f"{path!r} is not a name")
            segments.append(found.group())
            pos = found.end()
        if pos < len(path):
            if path[pos] not in "./" or pos + 1 == len(path):
                raise _BadTag(f"{path!r} is not a name")
            pos += 1
    return segments


def usable_name(name: str) -> bool:
    """Whether a top-level name can be a Cachet variable and a Jinja name."""
    return bool(NAME_RE.match(name)) and name not in RESERVED_NAMES and name not in JINJA_WORDS


def _root_ref(segments: list[str]) -> _Ref:
    root = segments[0]
    if not usable_name(root):
        raise _BadTag(f"{root!r} cannot be a Cachet variable name")
    ref = _attribute_ref(root, segments[1:])
    path = tuple(segments[1:]) if ref.kind == "object" else ()
    return _Ref(ref.expr, root, ref.kind, path)


def _attribute_ref(base: str, segments: list[str]) -> _Ref:
    """``base`` followed by ``segments`` as Jinja: ``.name``, ``[0]`` or ``['odd name']``;
    a last ``length`` is the ``length`` filter (JavaScript's ``.length``). Its kind says what
    ``base`` is: an object (``a.b``), a list (``a.0``, ``a.length``) or any value."""
    if segments and segments[-1] == "length":
        inner = _attribute_ref(base, segments[:-1])
        return _Ref(f"{inner.expr}|length", None, "list")
    expr = base
    for segment in segments:
        if segment.isdigit():
            expr += f"[{int(segment)}]"
        elif _IDENTIFIER.match(segment) and segment not in _DICT_ATTRIBUTES | JINJA_WORDS:
            expr += "." + segment
        else:
            expr += "[" + repr(segment) + "]"
    kind = "value" if not segments else "list" if segments[0].isdigit() else "object"
    return _Ref(expr, None, kind)


def _grouped(expr: str) -> str:
    """``expr`` in parentheses when an operator could bind into it."""
    return f"({expr})" if "|" in expr or " " in expr else expr


def _prints_item(body: list[Any], dialect: str) -> bool:
    """Whether a section's own text prints the item it is at (``{{.}}``, ``{{this}}``,
    ``@index``): then it iterates a list, and is translated as a loop."""
    for node in _own_tags(body):
        content = node.content
        if content == "." or (
            dialect == "handlebars"
            and (
                content in ("this", "@index", "@first", "@last")
                or content.startswith(("this.", "this/", "./"))
            )
        ):
            return True
    return False


def _own_tags(body: list[Any]) -> Iterator[_Tag]:
    """The leaf tags of a body, and of the conditions in it, not of nested loops."""
    for node in body:
        if isinstance(node, _Tag):
            yield node
        elif isinstance(node, _Block) and node.open.name in ("if", "unless"):
            yield from _own_tags(node.body)
            for _, branch in node.branches:
                yield from _own_tags(branch)
