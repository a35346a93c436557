"""The prefix cache: a version's rendered prefix, built once per prefix-variable values. Pure.

Everything up to a body's last checkpoint depends only on the compiled body, the model's
profile and the values of the prefix variables (guarantee 1 of docs/architecture.md). So
``render_spliced`` keeps, per ``(content hash, model, prefix values)``, the prefix fields as
rendered and the checkpoints and warnings computed from them; a later render with the same
key renders only the fields after the last checkpoint and splices them on. The result
equals ``rendering.render``'s, byte for byte.

The prefix values are keyed exactly (``values_key``): by the strings themselves when every
one is a string, else by sha256 of their canonical JSON (``compact_json``).

Every request's variables are still checked in full (``rendering.prepare``), and the
suffix is rendered in the sandbox within the wall-clock limit and the output limit left
after the prefix's characters. Versions are immutable, so an entry never goes stale; the
cache is a per-process LRU bounded in bytes (``PrefixCache(max_bytes)``).
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from gateway.catalog import ModelProfile
from gateway.wire import compact_json

from .checkpoints import CheckpointResult
from .rendering import (
    DEFAULT_LIMITS,
    CompiledBody,
    Limits,
    RenderResult,
    finish,
    prepare,
    render_fields,
)

ValuesKey = tuple[tuple[str, str], ...] | str
PrefixKey = tuple[str, str, ValuesKey]
ENTRY_OVERHEAD = 1024  # bytes an entry holds besides its strings: checkpoints, warnings
JSON_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Prefix:
    """A rendered prefix: its templated fields' texts and what render computed from them."""

    profile: ModelProfile
    texts: dict[str, str]
    chars: int  # characters of output the texts took: they count against the output limit
    checkpoints: tuple[CheckpointResult, ...]
    warnings: tuple[dict[str, str], ...]
    size: int  # bytes counted against the cache's bound


class PrefixCache:
    """A thread-safe LRU of rendered prefixes, at most ``max_bytes`` of them in all."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[PrefixKey, Prefix] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: PrefixKey) -> Prefix | None:
        """The prefix stored under ``key``, now the most recently used; None when absent."""
        with self._lock:
            prefix = self._entries.get(key)
            if prefix is not None:
                self._entries.move_to_end(key)
            return prefix

    def put(self, key: PrefixKey, prefix: Prefix) -> None:
        """Store ``prefix``, evicting the least recently used until the bound holds."""
        if prefix.size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self.bytes -= old.size if old is not None else 0
            self._entries[key] = prefix
            self.bytes += prefix.size
            while self.bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self.bytes -= evicted.size


def is_json_data(value: Any) -> bool:
    """Whether ``value`` is plain JSON data (exact types, string keys): ``compact_json`` then
    tells apart every two values that render differently."""
    if type(value) in JSON_SCALARS:
        return True
    if type(value) is list:
        return all(is_json_data(item) for item in value)
    if type(value) is dict:
        return all(type(k) is str and is_json_data(v) for k, v in value.items())
    return False


def values_key(values: dict[str, Any]) -> ValuesKey | None:
    """An exact key of prefix ``values``, or None when they are not plain JSON data.

    Strings are their own key (string equality is exact, and hashing one costs a tenth of
    encoding it as JSON): that is the common case of a document variable. Any other value
    would be ambiguous that way (``1 == 1.0 == True``, ``0.0 == -0.0``), so then the key is
    sha256 of the values' canonical JSON.
    """
    if all(type(value) is str for value in values.values()):
        return tuple(values.items())
    if not is_json_data(values):
        return None
    try:
        text = compact_json(values)
    except ValueError:  # NaN or infinity
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prefix_key(
    compiled: CompiledBody, context: dict[str, Any], profile: ModelProfile
) -> PrefixKey | None:
    """The cache key of the prefix ``context`` renders, or None when it cannot be cached."""
    if not compiled.body.checkpoints or not compiled.prefix_deterministic:
        return None
    values = {name: context[name] for name in compiled.prefix_variables if name in context}
    key = values_key(values)
    return None if key is None else (compiled.content_hash, profile.model, key)


def _prefix(
    compiled: CompiledBody, rendered: dict[str, str], result: RenderResult, key: PrefixKey
) -> Prefix:
    texts = {path: rendered[path] for path in compiled.prefix_fields if path in rendered}
    strings = [] if isinstance(key[2], str) else [value for _, value in key[2]]
    held = {id(text): text for text in [*texts.values(), *strings]}  # often one object
    size = ENTRY_OVERHEAD + sum(sys.getsizeof(text) for text in held.values())
    chars = sum(map(len, texts.values()))
    return Prefix(result.profile, texts, chars, result.checkpoints, result.warnings, size)


def render_spliced(
    compiled: CompiledBody,
    variables: Any,
    *,
    cache: PrefixCache | None,
    model: str | None = None,
    version: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> RenderResult:
    """``rendering.render``'s result, with the prefix taken from ``cache`` when it holds it
    (and put there when it did not). Raises what ``render`` raises."""
    profile, context = prepare(compiled, variables, model=model, version=version)
    key = prefix_key(compiled, context, profile) if cache is not None else None
    prefix = cache.get(key) if cache is not None and key is not None else None
    # A prefix over this render's output limit is rendered again, to fail where render fails.
    if prefix is not None and prefix.profile == profile and prefix.chars <= limits.max_output_chars:
        return _with_prefix(compiled, profile, context, prefix, version=version, limits=limits)
    rendered = render_fields(compiled, context, version=version, limits=limits)
    result = finish(compiled, profile, context, rendered, version=version)
    if cache is not None and key is not None:
        cache.put(key, _prefix(compiled, rendered, result, key))
    return result


def _with_prefix(
    compiled: CompiledBody,
    profile: ModelProfile,
    context: dict[str, Any],
    prefix: Prefix,
    *,
    version: int | None,
    limits: Limits,
) -> RenderResult:
    """The render of ``context`` whose prefix fields are ``prefix``'s: the rest rendered now."""
    done = prefix.texts
    suffix = render_fields(compiled, context, version=version, limits=limits, done=done)
    return finish(
        compiled,
        profile,
        context,
        {**done, **suffix},
        version=version,
        checkpoints=prefix.checkpoints,
        warnings=tuple(dict(warning) for warning in prefix.warnings),  # the caller's to change
    )
