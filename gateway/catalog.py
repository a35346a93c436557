"""Model catalog: per-model prompt-caching limits and prices, kept as data.

The built-in catalog is ``gateway/catalog.toml`` (facts: ``docs/providers.md``). An
operator adds or overrides entries with a file of the same format, named by
``CACHET_CATALOG_FILE``: ``load_catalog`` validates both and ``use_catalog`` puts the
result in force for the process. Resolution of a model string, in order: an exact
id or alias; for Bedrock, the foundation model behind an inference profile or ARN;
the longest matching ``<provider>/<prefix>*`` wildcard, whose entry holds that
provider's conservative defaults (``known`` is False). Every figure of a profile
records where it came from in ``sources``.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from gateway.errors import CatalogError, GatewayError, UnknownModelError
from gateway.registry import provider_of
from gateway.tokens import TOKENIZERS
from gateway.types import TTLS, effective_ttl

BUILTIN_FILE = Path(__file__).with_name("catalog.toml")
CACHEABLE_FIELDS = frozenset({"tools", "system", "messages"})
# The OpenAI API a model is called through: Chat Completions, or the Responses API.
OPENAI_APIS = ("chat", "responses")
PRICE_KINDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")

# Figures an entry inherits from its provider's wildcard entry when it does not set them.
INHERITED = {
    "min_tokens": 4096,
    "max_checkpoints": 4,
    "cacheable_fields": sorted(CACHEABLE_FIELDS),
    "max_cacheable_tokens": None,
    "ttls": list(TTLS),
    "tokenizer": "generic",
    "diagnostics": False,
    "explicit_breakpoints": False,
    "api": "chat",
    "rejected_params": [],
    "regional_surcharge": "1",
}
OWN = ("aliases", "prices", "notes", "retired", "successor", "borrows", "source", "sources")
ENTRY_KEYS = ("model", *INHERITED, *OWN)

_ARN = re.compile(
    r"arn:aws[\w-]*:bedrock:[\w-]*:\d*:(?:inference-profile|foundation-model)/(?P<id>[^/]+)"
)
_GEO_PREFIX = re.compile(r"(?P<geo>global|us|eu|jp|apac|au)\.(?P<id>.+)")


@dataclass(frozen=True, slots=True)
class Prices:
    """USD per million tokens for each kind of token; ``None`` where the price is unknown."""

    input: Decimal | None
    output: Decimal | None
    cache_write_5m: Decimal | None
    cache_write_1h: Decimal | None
    cache_read: Decimal | None

    def cache_write(self, ttl: str | None) -> Decimal | None:
        """The write price for a checkpoint whose marker says ``ttl`` (None: the default)."""
        return self.cache_write_1h if effective_ttl(ttl) == "1h" else self.cache_write_5m

    def times(self, factor: Decimal) -> Prices:
        """Every known price multiplied by ``factor`` (a surcharge)."""
        values = [getattr(self, kind) for kind in PRICE_KINDS]
        return Prices(*(None if v is None else (v * factor).normalize() for v in values))


UNKNOWN_PRICES = Prices(None, None, None, None, None)


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """What one model allows for prompt caching, and what its tokens cost."""

    model: str
    provider: str
    model_id: str
    min_tokens: int
    max_checkpoints: int
    cacheable_fields: frozenset[str]
    max_cacheable_tokens: int | None
    ttls: tuple[str, ...]
    prices: Prices
    aliases: tuple[str, ...] = ()
    notes: str = ""
    borrows: str | None = None
    # The estimate family for offline token counts (``gateway.tokens.TOKENIZERS``).
    tokenizer: str = "generic"
    # OpenAI GPT-5.6 and later: checkpoints become ``prompt_cache_breakpoint`` in explicit mode.
    explicit_breakpoints: bool = False
    # OpenAI only: "responses" calls the model through the Responses API (cache diagnostics).
    api: str = "chat"
    # The provider reports why a cache missed when told the previous call's id.
    diagnostics: bool = False
    # Request params the model answers with a 400 (lint refuses them instead).
    rejected_params: tuple[str, ...] = ()
    retired: str | None = None  # ISO date the platform stopped serving the id
    successor: str | None = None  # the model string to move to once retired
    # Multiplier on every price for a regional (not ``global.``) Bedrock inference profile.
    regional_surcharge: Decimal = Decimal(1)
    known: bool = True  # False: the provider's conservative defaults for an unlisted id
    sources: Mapping[str, str] = field(default_factory=dict)  # figure -> where it came from


@dataclass(frozen=True, slots=True)
class Catalog:
    """A validated catalog: its profiles, where they came from, and the lookup index."""

    version: str
    files: tuple[str, ...]
    profiles: tuple[ModelProfile, ...]
    index: Mapping[str, ModelProfile]
    wildcards: tuple[ModelProfile, ...]  # longest prefix first


def load_catalog(operator_file: str | Path | None = None) -> Catalog:
    """The built-in catalog, with ``operator_file`` (TOML, or JSON by extension) applied.

    Raises ``CatalogError`` listing every problem, each naming its file, entry and field.
    """
    sources = [(str(BUILTIN_FILE), _read(BUILTIN_FILE))]
    if operator_file:
        sources.append((str(operator_file), _read(Path(operator_file))))
    return _build(sources)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError([f"{path}: cannot be read ({exc.strerror or exc})"]) from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except ValueError as exc:
        raise CatalogError(
            [f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}"]
        ) from exc
    if not isinstance(data, dict):
        raise CatalogError([f"{path}: the top level must be a table"])
    return data


def _build(files: list[tuple[str, dict[str, Any]]]) -> Catalog:
    problems: list[str] = []
    price_tables: dict[str, tuple[dict[str, Any], str]] = {}
    raw: dict[str, dict[str, tuple[Any, str]]] = {}  # model -> key -> (value, source)
    versions = []
    for origin, data in files:
        for key in sorted(set(data) - {"version", "prices", "models"}):
            problems.append(
                f"{origin}: unknown top-level key {key!r} (allowed: version, prices, models)"
            )
        versions.append(str(data.get("version", origin)))
        for name, table in _table(data.get("prices", {}), f"{origin}: prices", problems).items():
            if _table(table, f"{origin}: prices.{name}", problems) is not None:
                price_tables[name] = (table, table.get("source", origin))
        models = data.get("models", [])
        if not isinstance(models, list):
            problems.append(f"{origin}: models must be a list of tables ([[models]])")
            models = []
        for number, entry in enumerate(models, 1):
            _merge(entry, f"{origin}: models entry {number}", origin, raw, price_tables, problems)
    profiles = []
    for model, entry in raw.items():
        try:
            profiles.append(_profile(model, entry, raw, price_tables))
        except CatalogError as exc:
            problems += exc.problems
    catalog = _index(versions, [origin for origin, _ in files], profiles, problems)
    for profile in catalog.profiles:
        if profile.successor and _lookup(catalog, profile.successor) is None:
            problems.append(
                f"{profile.model}: successor {profile.successor!r} is not in the catalog"
            )
        problems += _api_problems(profile)
    if problems:
        raise CatalogError(problems)
    return catalog


def _api_problems(profile: ModelProfile) -> list[str]:
    """An OpenAI model gives cache diagnostics only through the Responses API."""
    if profile.api != "chat" and profile.provider != "openai":
        return [f"{profile.model}: api {profile.api!r} is for openai/ models only"]
    if profile.provider == "openai" and profile.diagnostics and profile.api != "responses":
        return [f'{profile.model}: diagnostics on OpenAI need api = "responses"']
    return []


def _table(value: Any, where: str, problems: list[str]) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    problems.append(f"{where}: must be a table")
    return {}


def _merge(
    entry: Any, where: str, origin: str, raw: dict, price_tables: dict, problems: list[str]
) -> None:
    """Fold one ``[[models]]`` entry into ``raw``: a new model, or an override of some figures."""
    if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
        problems.append(f"{where}: needs a 'model' string (\"provider/model-id\")")
        return
    model = entry["model"]
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        allowed = ", ".join(ENTRY_KEYS)
        problems.append(
            f"{where} ({model}): unknown key(s) {', '.join(unknown)} (allowed: {allowed})"
        )
    try:
        provider_of(model)
    except GatewayError as exc:
        problems.append(f"{where}: {exc}")
        return
    source = entry.get("source") if model not in raw else f"{origin} (overrides)"
    target = raw.setdefault(model, {})
    for key, value in entry.items():
        if key == "prices" and isinstance(value, dict) and "prices" in target:
            value = {**_price_table(target["prices"][0], price_tables), "source": "", **value}
        if key in ENTRY_KEYS and key != "model":
            target[key] = (value, str(source or origin))


def _price_table(value: Any, price_tables: dict) -> dict[str, Any]:
    """The prices an entry names or holds, as a table (an override merges into it)."""
    if isinstance(value, str):
        return dict(price_tables.get(value, ({}, ""))[0])
    return dict(value) if isinstance(value, dict) else {}


def _profile(model: str, entry: dict, raw: dict, price_tables: dict) -> ModelProfile:
    """One profile from its raw figures, the wildcard it inherits from, and the defaults."""
    provider, _, model_id = model.partition("/")
    borrows = entry.get("borrows", (None, ""))[0]
    if borrows is not None:
        return _borrowed(model, borrows, raw, price_tables)
    parent = None if model.endswith("*") else _parent(model, raw)
    figures: dict[str, tuple[Any, str]] = {}
    for key, default in INHERITED.items():
        if key in entry:
            figures[key] = entry[key]
        elif parent is not None and key in raw[parent]:
            figures[key] = (raw[parent][key][0], f"default of {parent}: {raw[parent][key][1]}")
        else:
            figures[key] = (default, "Cachet's default")
    own = {key: entry[key][0] for key in OWN if key in entry}
    check = _Checker(model)
    prices, price_source = _prices(own.get("prices"), price_tables, check)
    values = {key: check.figure(key, value) for key, (value, _) in figures.items()}
    retired = _date(own.get("retired"), check)
    check.done()
    sources = {key: source for key, (_, source) in figures.items()}
    sources["prices"] = (
        (price_source or entry["prices"][1])
        if "prices" in entry
        else "unknown: set them in a catalog file"
    )
    sources.update(own.get("sources") or {})
    return ModelProfile(
        model=model,
        provider=provider,
        model_id=model_id,
        prices=prices,
        aliases=tuple(own.get("aliases", ())),
        notes=str(own.get("notes", "")),
        retired=retired,
        successor=own.get("successor"),
        known=not model.endswith("*"),
        sources=sources,
        **values,
    )


def _borrowed(model: str, borrows: str, raw: dict, price_tables: dict) -> ModelProfile:
    """A simulator entry with the limits, tokenizer and prices of the real model it borrows."""
    real = _by_alias(raw).get(borrows)
    if not model.startswith("sim/") or real is None or real.startswith("sim/"):
        raise CatalogError([f"{model}: 'borrows' is for sim/ entries and names a real entry"])
    source = _profile(real, raw[real], raw, price_tables)
    return replace(
        source,
        model=model,
        provider="sim",
        model_id=model.partition("/")[2],
        aliases=(),
        notes=f"In-process simulator; limits and prices copied from {borrows}.",
        borrows=borrows,
        diagnostics=False,
        # Kept: the simulator follows OpenAI's explicit-breakpoint rules for such a model.
        explicit_breakpoints=source.explicit_breakpoints,
        api="chat",
        retired=None,
        successor=None,
        sources={key: f"{borrows}: {value}" for key, value in source.sources.items()},
    )


def _by_alias(raw: dict) -> dict[str, str]:
    """Every model string and alias of the raw entries -> the entry's model string."""
    names = {model: model for model in raw}
    for model, entry in raw.items():
        provider = model.partition("/")[0]
        for alias in entry.get("aliases", ((), ""))[0]:
            names[f"{provider}/{alias}"] = model
    return names


def _parent(model: str, raw: dict) -> str | None:
    """The longest wildcard entry whose prefix ``model`` starts with."""
    matches = [key for key in raw if key.endswith("*") and model.startswith(key[:-1])]
    return max(matches, key=len) if matches else None


def _prices(value: Any, tables: dict, check: _Checker) -> tuple[Prices, str]:
    if value is None:
        return UNKNOWN_PRICES, ""
    if isinstance(value, str):
        if value not in tables:
            check.problem("prices", f"names no [prices.{value}] table")
            return UNKNOWN_PRICES, ""
        value, source = tables[value]
    elif isinstance(value, dict):
        source = value.get("source", "")  # the entry's own source when empty
    else:
        check.problem("prices", "must name a [prices.NAME] table or be an inline table")
        return UNKNOWN_PRICES, ""
    for key in sorted(set(value) - {*PRICE_KINDS, "source"}):
        check.problem(f"prices.{key}", f"unknown price (allowed: {', '.join(PRICE_KINDS)})")
    amounts = [check.decimal(f"prices.{kind}", value.get(kind)) for kind in PRICE_KINDS]
    return Prices(*amounts), str(source)


def _date(value: Any, check: _Checker) -> str | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        check.problem("retired", f"{value!r} is not a date (YYYY-MM-DD)")
        return None


class _Checker:
    """Collects the problems of one entry, each naming the entry and the field."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.model}: {key} {message}")

    def done(self) -> None:
        if self.problems:
            raise CatalogError(self.problems)

    def decimal(self, key: str, value: Any) -> Decimal | None:
        if value is None:
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = Decimal(-1)
        if isinstance(value, bool) or not amount.is_finite() or amount < 0:
            self.problem(key, f'must be a non-negative number such as "0.30", not {value!r}')
            return None
        return amount

    def figure(self, key: str, value: Any) -> Any:
        rule = _FIGURES[key]
        converted = rule(value)
        if converted is _BAD:
            self.problem(key, f"{_FIGURE_HELP[key]}, not {value!r}")
        return converted


_BAD = object()


def _int(low: int, high: int | None = None, optional: bool = False) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value is None and optional:
            return None
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
        return value if ok and (high is None or value <= high) else _BAD

    return convert


def _strings(allowed: Iterable[str] | None, kind: Callable = tuple, empty: bool = True):
    def convert(value: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _BAD
        if (allowed is not None and not set(value) <= set(allowed)) or (not empty and not value):
            return _BAD
        return kind(value)

    return convert


def _surcharge(value: Any) -> Any:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return _BAD
    return amount if amount.is_finite() and amount >= 1 and not isinstance(value, bool) else _BAD


_FIGURES: dict[str, Callable[[Any], Any]] = {
    "min_tokens": _int(1),
    "max_checkpoints": _int(0, 4),
    "cacheable_fields": _strings(CACHEABLE_FIELDS, frozenset),
    "max_cacheable_tokens": _int(1, optional=True),
    "ttls": _strings(TTLS, lambda v: tuple(t for t in TTLS if t in v), empty=False),
    "tokenizer": lambda v: v if v in TOKENIZERS else _BAD,
    "diagnostics": lambda v: v if isinstance(v, bool) else _BAD,
    "explicit_breakpoints": lambda v: v if isinstance(v, bool) else _BAD,
    "api": lambda v: v if v in OPENAI_APIS else _BAD,
    "rejected_params": _strings(None),
    "regional_surcharge": _surcharge,
}
_FIGURE_HELP = {
    "min_tokens": "must be a whole number of tokens above 0",
    "max_checkpoints": "must be a whole number from 0 to 4",
    "cacheable_fields": f"must be a list of {', '.join(sorted(CACHEABLE_FIELDS))}",
    "max_cacheable_tokens": "must be a whole number of tokens above 0",
    "ttls": f"must be a non-empty list of {', '.join(TTLS)}",
    "tokenizer": f"must be one of {', '.join(TOKENIZERS)}",
    "diagnostics": "must be true or false",
    "explicit_breakpoints": "must be true or false",
    "api": f"must be one of {', '.join(OPENAI_APIS)}",
    "rejected_params": "must be a list of parameter names",
    "regional_surcharge": 'must be a multiplier of at least 1, such as "1.1"',
}


def _index(
    versions: list[str], files: list[str], profiles: list[ModelProfile], problems: list[str]
) -> Catalog:
    index: dict[str, ModelProfile] = {}
    for profile in profiles:
        for model_id in (profile.model_id, *profile.aliases):
            key = f"{profile.provider}/{model_id}"
            if key in index and index[key] is not profile:
                problems.append(f"{key}: names two entries ({index[key].model}, {profile.model})")
            index[key] = profile
    wildcards = sorted((p for p in profiles if p.model.endswith("*")), key=lambda p: -len(p.model))
    return Catalog(" + ".join(versions), tuple(files), tuple(profiles), index, tuple(wildcards))


def use_catalog(catalog: Catalog) -> None:
    """Put ``catalog`` in force for this process (at startup, from the operator's file)."""
    global _CATALOG
    _CATALOG = catalog


def active_catalog() -> Catalog:
    """The catalog in force."""
    return _CATALOG


def all_profiles() -> tuple[ModelProfile, ...]:
    """Every catalog entry, including the provider wildcards and the sim entries."""
    return _CATALOG.profiles


def known_models() -> tuple[str, ...]:
    """Every model string the catalog accepts literally (ids and aliases), sorted."""
    return tuple(sorted(key for key in _CATALOG.index if not key.endswith("*")))


def bedrock_base_id(model_id: str) -> str:
    """The foundation-model id behind a Bedrock inference-profile id or ARN."""
    match = _ARN.fullmatch(model_id)
    if match is not None:
        model_id = match["id"]
    match = _GEO_PREFIX.fullmatch(model_id)
    return match["id"] if match is not None else model_id


def close_matches(word: str, among: Iterable[str] | None = None) -> tuple[str, ...]:
    """Up to three of ``among`` (default: the catalog's model strings) that look like
    ``word``, closest first: what a likely typo meant. The one "did you mean" of Cachet:
    model names here, and also request fields and template variables."""
    candidates = known_models() if among is None else list(among)
    return tuple(difflib.get_close_matches(word, candidates, n=3, cutoff=0.6))


def is_regional(model_id: str) -> bool:
    """Whether a Bedrock id names a regional inference profile (``us.``, not ``global.``)."""
    match = _GEO_PREFIX.fullmatch(bedrock_base_id(model_id) if "arn:" in model_id else model_id)
    return match is not None and match["geo"] != "global"


_BASE_IDS: dict[str, Callable[[str], str]] = {"bedrock": bedrock_base_id}


def _lookup(catalog: Catalog, model: str) -> ModelProfile | None:
    provider, _, model_id = model.partition("/")
    profile = catalog.index.get(model)
    base_id = _BASE_IDS.get(provider)
    if profile is None and base_id is not None:
        profile = catalog.index.get(f"{provider}/{base_id(model_id)}")
    if profile is None:
        rest = f"{provider}/{base_id(model_id)}" if base_id else model
        profile = next((w for w in catalog.wildcards if rest.startswith(w.model[:-1])), None)
    return profile


def get_profile(model: str) -> ModelProfile:
    """The profile of ``model``; raises UnknownProviderError or UnknownModelError.

    Ids are case-sensitive. Aliases, Bedrock inference profiles and ARNs, and the
    ``<provider>/…*`` wildcards resolve to their entry, returned under the requested name.
    """
    provider_of(model)
    profile = _lookup(_CATALOG, model)
    if profile is None:
        raise UnknownModelError(model, known_models())
    if profile.model == model:
        return profile
    model_id = model.partition("/")[2]
    named = replace(profile, model=model, model_id=model_id)
    if profile.regional_surcharge != 1 and profile.provider == "bedrock" and is_regional(model_id):
        # A regional inference profile costs more than a global one on every token kind.
        source = f"{profile.sources.get('prices', '')}; x{profile.regional_surcharge} regional"
        prices = profile.prices.times(profile.regional_surcharge)
        return replace(named, prices=prices, sources={**profile.sources, "prices": source})
    return named


_CATALOG = load_catalog()
