"""Model catalog: per-model prompt-caching limits and prices, kept as data.

Facts: ``docs/providers.md`` (section numbers below refer to it).
Prices are USD per million tokens, exact ``Decimal`` values; Bedrock Claude entries use
the Anthropic API list prices (regional inference profiles from Sonnet 4.5 on cost 10%
more than ``global.`` ones, which is not modelled). Adding a model is one entry in
``_ENTRIES``; ``sim/`` entries are derived from the real entry they borrow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from gateway.errors import UnknownModelError
from gateway.registry import provider_of
from gateway.types import DEFAULT_TTL, TTLS, effective_ttl

CACHEABLE_FIELDS = frozenset({"tools", "system", "messages"})
BOTH_TTLS = TTLS
FIVE_MINUTES = (DEFAULT_TTL,)

_ARN = re.compile(
    r"arn:aws[\w-]*:bedrock:[\w-]*:\d*:(?:inference-profile|foundation-model)/(?P<id>[^/]+)"
)
_GEO_PREFIX = re.compile(r"(?:global|us|eu|jp|apac|au)\.(?P<id>.+)")


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


def _usd(input: str, output: str, write_5m: str, write_1h: str, read: str) -> Prices:
    return Prices(
        Decimal(input), Decimal(output), Decimal(write_5m), Decimal(write_1h), Decimal(read)
    )


def _profile(
    model: str,
    min_tokens: int,
    prices: Prices,
    *,
    notes: str,
    ttls: tuple[str, ...] = BOTH_TTLS,
    fields: frozenset[str] = CACHEABLE_FIELDS,
    max_cacheable_tokens: int | None = None,
    aliases: tuple[str, ...] = (),
    max_checkpoints: int = 4,
) -> ModelProfile:
    provider, _, model_id = model.partition("/")
    return ModelProfile(
        model=model,
        provider=provider,
        model_id=model_id,
        min_tokens=min_tokens,
        max_checkpoints=max_checkpoints,
        cacheable_fields=fields,
        max_cacheable_tokens=max_cacheable_tokens,
        ttls=ttls,
        prices=prices,
        aliases=aliases,
        notes=notes,
    )


# docs/providers.md §1.7: input, output, 5m write, 1h write, read.
OPUS_4_5_PRICES = _usd("5", "25", "6.25", "10", "0.50")  # Opus 4.5, 4.6, 4.7, 4.8, 5
OPUS_4_PRICES = _usd("15", "75", "18.75", "30", "1.50")  # Opus 4, 4.1
SONNET_5_PRICES = _usd("2", "10", "2.50", "4", "0.20")
SONNET_4_PRICES = _usd("3", "15", "3.75", "6", "0.30")  # Sonnet 3.7, 4, 4.5, 4.6
HAIKU_4_5_PRICES = _usd("1", "5", "1.25", "2", "0.10")
HAIKU_3_5_PRICES = _usd("0.80", "4", "1.00", "1.60", "0.08")
HAIKU_3_PRICES = _usd("0.25", "1.25", "0.30", "0.50", "0.03")

_API_NOTE = "Anthropic API: minimum from docs/providers.md §1.4, prices from §1.7."
_BEDROCK_NOTE = (
    "Bedrock: minimum and TTLs from docs/providers.md §2.3; prices = Anthropic API (§1.7)."
)


def _api(
    model_id: str, min_tokens: int, prices: Prices, *aliases: str, note: str = ""
) -> ModelProfile:
    notes = f"{_API_NOTE} {note}".strip()
    profile = _profile(f"anthropic/{model_id}", min_tokens, prices, notes=notes, aliases=aliases)
    return replace(profile, diagnostics=True)


def _bedrock(
    model_id: str, min_tokens: int, prices: Prices, ttls: tuple[str, ...], note: str = ""
) -> ModelProfile:
    notes = f"{_BEDROCK_NOTE} {note}".strip()
    return _profile(f"bedrock/anthropic.{model_id}", min_tokens, prices, notes=notes, ttls=ttls)


def _nova(model_id: str, input: str, output: str) -> ModelProfile:
    # Nova bills cache writes at the input price and reads at a 75% discount.
    price = Decimal(input)
    prices = Prices(price, Decimal(output), price, price, (price / 4).normalize())
    notes = (
        "Bedrock Nova (docs/providers.md §2.3): minimum 1K per checkpoint (1,024 taken), system and"
        " messages only (no tool checkpoints), 5m TTL. Cap: the AWS table says 20K, the Portkey"
        " page says 32K; the conservative 20K is taken. Prices: on-demand us-east-1, write ="
        " input, read = 25% of input; verify live."
    )
    return _profile(
        f"bedrock/amazon.{model_id}",
        1024,
        prices,
        notes=notes,
        ttls=FIVE_MINUTES,
        fields=frozenset({"system", "messages"}),
        max_cacheable_tokens=20000,
    )


def _openai(model_id: str, input: str, output: str, read: str, notes: str = "") -> ModelProfile:
    prices = _usd(input, output, input, input, read)
    notes = notes or (
        "OpenAI caches prefixes automatically (docs/providers.md §3.1): no write surcharge, markers"
        " removed on the wire, minimum 1,024 tokens. Prices: verify live."
    )
    return _profile(f"openai/{model_id}", 1024, prices, notes=notes)


def _openai_explicit(model_id: str, input: str, read: str, write: str) -> ModelProfile:
    # Output prices are not in docs/providers.md §8.3: unknown until an operator sets them.
    prices = Prices(Decimal(input), None, Decimal(write), Decimal(write), Decimal(read))
    notes = (
        "OpenAI GPT-5.6 and later (docs/providers.md §8.3): explicit breakpoints, writes x1.25,"
        " reads x0.1, minimum 1,024 tokens, 30m TTL."
    )
    profile = _profile(f"openai/{model_id}", 1024, prices, notes=notes)
    return replace(profile, explicit_breakpoints=True, diagnostics=True, tokenizer="openai")


_OLDER_5M = "An older AWS copy lists 5m only; the newest lists 5m and 1h."
_NO_ID = "Bedrock id from the AWS model catalog, not the caching table (§2.3); verify live."
_PREVIEW = "Caching was preview-only for this model; its 3/15 price is not in §1.7, verify live."
_CONFLICT = "CONFLICT: AWS copies say 1,024 and 4,096; the conservative 4,096 is taken."
_BEDROCK_FIGURE = "The API doc says 2,048; the Bedrock figure 4,096 is taken."
_NO_CACHING = (
    "Bedrock has no prompt caching for this model (it is absent from the AWS caching table,"
    " docs/providers.md §2.3): lint refuses checkpoints. Prices = Anthropic API (§1.7)."
)
_GENERIC = (
    "Fallback for any other OpenAI-compatible model (vLLM, llama.cpp, Ollama, ...):"
    " prices are unknown and counted as 0; minimum assumed 1,024 tokens."
)

_REAL_ENTRIES: tuple[ModelProfile, ...] = (
    _api("claude-3-haiku-20240307", 2048, HAIKU_3_PRICES, note="Legacy minimum (older revision)."),
    _api("claude-3-5-haiku-20241022", 2048, HAIKU_3_5_PRICES, "claude-3-5-haiku-latest"),
    _api("claude-3-7-sonnet-20250219", 1024, SONNET_4_PRICES, "claude-3-7-sonnet-latest"),
    _api("claude-sonnet-4-20250514", 1024, SONNET_4_PRICES, "claude-sonnet-4-0"),
    _api("claude-opus-4-20250514", 1024, OPUS_4_PRICES, "claude-opus-4-0"),
    _api("claude-opus-4-1-20250805", 1024, OPUS_4_PRICES, "claude-opus-4-1"),
    _api("claude-sonnet-4-5-20250929", 1024, SONNET_4_PRICES, "claude-sonnet-4-5"),
    _api("claude-haiku-4-5-20251001", 4096, HAIKU_4_5_PRICES, "claude-haiku-4-5"),
    _api("claude-opus-4-5-20251101", 4096, OPUS_4_5_PRICES, "claude-opus-4-5"),
    _api("claude-opus-4-6", 4096, OPUS_4_5_PRICES),
    _api("claude-sonnet-4-6", 1024, SONNET_4_PRICES, note="2,048 until the 2026-05-13 revision."),
    _api("claude-opus-4-7", 2048, OPUS_4_5_PRICES, note="4,096 until the 2026-06-09 revision."),
    _api("claude-opus-4-8", 1024, OPUS_4_5_PRICES),
    _api("claude-sonnet-5", 1024, SONNET_5_PRICES),
    _api("claude-opus-5", 512, OPUS_4_5_PRICES),
    _profile(
        "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
        2048,
        HAIKU_3_PRICES,
        notes=_NO_CACHING,
        fields=frozenset(),
        max_checkpoints=0,
    ),
    _bedrock("claude-3-5-sonnet-20241022-v2:0", 1024, SONNET_4_PRICES, FIVE_MINUTES, _PREVIEW),
    _bedrock("claude-3-5-haiku-20241022-v1:0", 2048, HAIKU_3_5_PRICES, FIVE_MINUTES),
    _bedrock("claude-3-7-sonnet-20250219-v1:0", 1024, SONNET_4_PRICES, FIVE_MINUTES),
    _bedrock("claude-sonnet-4-20250514-v1:0", 1024, SONNET_4_PRICES, FIVE_MINUTES, _NO_ID),
    _bedrock("claude-opus-4-20250514-v1:0", 1024, OPUS_4_PRICES, FIVE_MINUTES, _NO_ID),
    _bedrock("claude-opus-4-1-20250805-v1:0", 1024, OPUS_4_PRICES, FIVE_MINUTES, _NO_ID),
    _bedrock("claude-sonnet-4-5-20250929-v1:0", 4096, SONNET_4_PRICES, BOTH_TTLS, _CONFLICT),
    _bedrock("claude-haiku-4-5-20251001-v1:0", 4096, HAIKU_4_5_PRICES, BOTH_TTLS),
    _bedrock("claude-opus-4-5-20251101-v1:0", 4096, OPUS_4_5_PRICES, BOTH_TTLS),
    _bedrock("claude-opus-4-6-v1", 4096, OPUS_4_5_PRICES, BOTH_TTLS, _OLDER_5M),
    _bedrock("claude-sonnet-4-6", 1024, SONNET_4_PRICES, BOTH_TTLS, _OLDER_5M),
    _bedrock("claude-opus-4-7", 4096, OPUS_4_5_PRICES, BOTH_TTLS, _BEDROCK_FIGURE),
    _bedrock("claude-opus-4-8", 1024, OPUS_4_5_PRICES, BOTH_TTLS),
    _bedrock("claude-sonnet-5", 1024, SONNET_5_PRICES, BOTH_TTLS),
    _bedrock("claude-opus-5", 512, OPUS_4_5_PRICES, BOTH_TTLS),
    _nova("nova-micro-v1:0", "0.035", "0.14"),
    _nova("nova-lite-v1:0", "0.06", "0.24"),
    _nova("nova-pro-v1:0", "0.80", "3.20"),
    _nova("nova-premier-v1:0", "2.50", "12.50"),
    _openai("gpt-4o", "2.50", "10.00", "1.25"),
    _openai("gpt-4.1", "2.00", "8.00", "0.50"),
    _openai("gpt-5", "1.25", "10.00", "0.125"),
    _openai_explicit("gpt-5.6-sol", "4.00", "0.40", "5.00"),
    _openai_explicit("gpt-5.6-terra", "2.00", "0.20", "2.50"),
    _openai_explicit("gpt-5.6-luna", "0.20", "0.02", "0.25"),
    _openai("*", "0", "0", "0", _GENERIC),
)

_SIMS = {
    "sim/claude-sonnet-4-5": "anthropic/claude-sonnet-4-5",
    "sim/claude-haiku-4-5": "anthropic/claude-haiku-4-5",
    "sim/claude-opus-4-6": "anthropic/claude-opus-4-6",
    "sim/claude-3-haiku": "anthropic/claude-3-haiku-20240307",
    "sim/nova-pro": "bedrock/amazon.nova-pro-v1:0",
}


def _index(entries: tuple[ModelProfile, ...]) -> dict[str, ModelProfile]:
    """Every accepted model string (ids and aliases) -> its entry; duplicates are a bug."""
    index: dict[str, ModelProfile] = {}
    for entry in entries:
        for model_id in (entry.model_id, *entry.aliases):
            key = f"{entry.provider}/{model_id}"
            if key in index:
                raise RuntimeError(f"model {key!r} is in the catalog twice")
            index[key] = entry
    return index


def _sim(model: str, borrows: str, real: dict[str, ModelProfile]) -> ModelProfile:
    """A simulator entry with the limits and prices of the real model it borrows."""
    notes = f"In-process simulator; limits and prices copied from {borrows}."
    _, _, model_id = model.partition("/")
    source = real[borrows]
    return replace(
        source,
        model=model,
        provider="sim",
        model_id=model_id,
        aliases=(),
        notes=notes,
        borrows=borrows,
    )


_REAL_INDEX = _index(_REAL_ENTRIES)
_ENTRIES = _REAL_ENTRIES + tuple(_sim(m, b, _REAL_INDEX) for m, b in _SIMS.items())
_INDEX = _index(_ENTRIES)


def all_profiles() -> tuple[ModelProfile, ...]:
    """Every catalog entry, including the ``openai/*`` fallback and the sim entries."""
    return _ENTRIES


def known_models() -> tuple[str, ...]:
    """Every model string the catalog accepts literally (ids and aliases), sorted."""
    return tuple(sorted(key for key in _INDEX if not key.endswith("/*")))


def bedrock_base_id(model_id: str) -> str:
    """The foundation-model id behind a Bedrock inference-profile id or ARN."""
    match = _ARN.fullmatch(model_id)
    if match is not None:
        model_id = match["id"]
    match = _GEO_PREFIX.fullmatch(model_id)
    return match["id"] if match is not None else model_id


_BASE_IDS: dict[str, Callable[[str], str]] = {"bedrock": bedrock_base_id}


def get_profile(model: str) -> ModelProfile:
    """The profile of ``model``; raises UnknownProviderError or UnknownModelError.

    Ids are case-sensitive. Aliases, Bedrock inference profiles and ARNs, and the
    ``<provider>/*`` fallback resolve to their entry, returned under the requested name.
    """
    provider = provider_of(model)
    profile = _INDEX.get(model) or _resolve(provider, model)
    if profile.model == model:
        return profile
    return replace(profile, model=model, model_id=model.partition("/")[2])


def _resolve(provider: str, model: str) -> ModelProfile:
    base_id = _BASE_IDS.get(provider)
    if base_id is not None:
        profile = _INDEX.get(f"{provider}/{base_id(model.partition('/')[2])}")
        if profile is not None:
            return profile
    fallback = _INDEX.get(f"{provider}/*")
    if fallback is not None:
        return fallback
    raise UnknownModelError(model, known_models())
