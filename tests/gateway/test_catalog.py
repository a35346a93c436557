from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

import pytest

from gateway.catalog import (
    CACHEABLE_FIELDS,
    active_catalog,
    all_profiles,
    close_matches,
    get_profile,
    is_regional,
    known_models,
)
from gateway.errors import UnknownModelError, UnknownProviderError
from gateway.registry import PROVIDERS
from gateway.tokens import TOKENIZERS
from gateway.types import TTLS

PROFILES = all_profiles()
LIMIT_FIELDS = [
    f.name for f in fields(PROFILES[0]) if f.name not in {"model", "provider", "model_id"}
]

REQUIRED_ANTHROPIC = [
    "claude-3-haiku-20240307",
    "claude-3-5-haiku-20241022",
    "claude-3-7-sonnet-20250219",
    "claude-sonnet-4-20250514",
    "claude-opus-4-20250514",
    "claude-opus-4-1-20250805",
    "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-5",
    "claude-haiku-4-5-20251001",
    "claude-haiku-4-5",
    "claude-opus-4-5-20251101",
    "claude-opus-4-5",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-opus-4-7",
    "claude-opus-4-8",
    "claude-sonnet-5",
    "claude-opus-5",
]
REQUIRED_BEDROCK = [
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-opus-5",
    "anthropic.claude-opus-4-8",
    "anthropic.claude-opus-4-7",
    "anthropic.claude-opus-4-6-v1",
    "anthropic.claude-opus-4-5-20251101-v1:0",
    "anthropic.claude-sonnet-5",
    "anthropic.claude-sonnet-4-6",
    "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic.claude-haiku-4-5-20251001-v1:0",
    "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "amazon.nova-micro-v1:0",
    "amazon.nova-lite-v1:0",
    "amazon.nova-pro-v1:0",
    "amazon.nova-premier-v1:0",
]


def ids(profile):
    return profile.model


@pytest.mark.parametrize("profile", PROFILES, ids=ids)
def test_every_entry_resolves_by_its_own_model_string(profile):
    assert get_profile(profile.model) is profile


@pytest.mark.parametrize("model_id", REQUIRED_ANTHROPIC)
def test_required_anthropic_models_are_covered(model_id):
    assert get_profile(f"anthropic/{model_id}").provider == "anthropic"


@pytest.mark.parametrize("model_id", REQUIRED_BEDROCK)
def test_required_bedrock_models_are_covered(model_id):
    assert get_profile(f"bedrock/{model_id}").provider == "bedrock"


def test_only_sim_entries_borrow():
    assert all((p.borrows is not None) == (p.provider == "sim") for p in PROFILES)


def test_alias_resolves_under_the_requested_name():
    profile = get_profile("anthropic/claude-sonnet-4-5")

    assert profile.model == "anthropic/claude-sonnet-4-5"
    assert profile.prices == get_profile("anthropic/claude-sonnet-4-5-20250929").prices


@pytest.mark.parametrize("geo", ["global", "us", "eu", "jp", "apac", "au"])
def test_inference_profile_ids_resolve_to_the_base_entry(geo):
    model = f"bedrock/{geo}.anthropic.claude-haiku-4-5-20251001-v1:0"
    profile = get_profile(model)

    assert profile.model == model
    assert profile.model_id == f"{geo}.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert profile.min_tokens == 4096


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0",
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0",
    ],
)
def test_arn_ids_resolve_through_their_last_segment(arn):
    profile = get_profile(f"bedrock/{arn}")

    assert profile.model_id == arn
    assert profile.prices == get_profile("bedrock/amazon.nova-lite-v1:0").prices


def test_unknown_provider_is_not_a_model_error():
    with pytest.raises(UnknownProviderError):
        get_profile("vertex/gemini-2.5-pro")


def test_nova_prices_are_exact():
    micro = get_profile("bedrock/amazon.nova-micro-v1:0").prices

    assert micro.input == Decimal("0.035") == micro.cache_write_5m
    assert micro.cache_read == Decimal("0.00875")


def test_openai_known_model_has_its_prices():
    assert get_profile("openai/gpt-5").prices.cache_read == Decimal("0.125")


def test_bedrock_entries_use_the_bedrock_minimum():
    assert get_profile("anthropic/claude-opus-4-7").min_tokens == 2048
    assert get_profile("bedrock/anthropic.claude-opus-4-7").min_tokens == 4096


def test_bedrock_five_minute_only_models_refuse_one_hour():
    assert get_profile("bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0").ttls == ("5m",)


def test_bedrock_claude_prices_match_the_anthropic_api():
    bedrock = get_profile("bedrock/anthropic.claude-haiku-4-5-20251001-v1:0")

    assert bedrock.prices == get_profile("anthropic/claude-haiku-4-5").prices


def test_known_models_lists_aliases_but_not_the_wildcard():
    models = known_models()

    assert "anthropic/claude-sonnet-4-5" in models
    assert "openai/*" not in models
    assert len(models) == len(set(models))


REAL = [p for p in PROFILES if p.known and p.provider != "sim"]
PRICED = [p for p in REAL if p.prices.input is not None]


@pytest.mark.parametrize("profile", PROFILES, ids=ids)
def test_every_profile_has_sane_limits(profile):
    assert profile.model == f"{profile.provider}/{profile.model_id}"
    assert profile.provider in PROVIDERS
    assert profile.min_tokens > 0
    assert 0 <= profile.max_checkpoints <= 4
    assert profile.cacheable_fields <= CACHEABLE_FIELDS
    # A model either caches (some field, some checkpoint) or says plainly that it does not.
    assert bool(profile.cacheable_fields) == (profile.max_checkpoints > 0)
    assert profile.ttls and set(profile.ttls) <= set(TTLS)
    assert profile.max_cacheable_tokens is None or profile.max_cacheable_tokens > 0
    assert profile.tokenizer in TOKENIZERS
    assert profile.regional_surcharge >= 1


@pytest.mark.parametrize("profile", PROFILES, ids=ids)
def test_every_figure_names_its_source(profile):
    figures = {"min_tokens", "max_checkpoints", "cacheable_fields", "ttls", "tokenizer", "prices"}
    assert figures <= set(profile.sources)
    assert all(profile.sources[name] for name in figures)


@pytest.mark.parametrize("profile", PRICED, ids=ids)
def test_every_priced_profile_has_sane_prices(profile):
    prices = profile.prices
    values = [prices.input, prices.cache_write_5m, prices.cache_write_1h, prices.cache_read]
    assert all(isinstance(value, Decimal) and value >= 0 for value in values)
    assert prices.output is None or prices.output > prices.input
    assert prices.cache_read < prices.input
    assert prices.cache_write_5m >= prices.input


@pytest.mark.parametrize(
    "profile", [p for p in PRICED if "claude" in p.model_id and p.max_checkpoints], ids=ids
)
def test_claude_one_hour_write_costs_at_least_the_five_minute_write(profile):
    assert profile.prices.cache_write_1h >= profile.prices.cache_write_5m > profile.prices.input
    # Reads cost a tenth of input, rounded to the cent's tenth (Haiku 3: 0.03 for 0.025).
    assert abs(profile.prices.cache_read - profile.prices.input / 10) <= Decimal("0.005")
    assert profile.max_checkpoints == 4
    assert profile.cacheable_fields == CACHEABLE_FIELDS
    assert profile.max_cacheable_tokens is None


@pytest.mark.parametrize("profile", [p for p in PROFILES if p.provider == "sim"], ids=ids)
def test_sim_entries_equal_their_borrowed_entry(profile):
    borrowed = get_profile(profile.borrows)

    assert profile.borrows.split("/")[0] in {"anthropic", "bedrock", "openai"}
    assert profile.explicit_breakpoints == borrowed.explicit_breakpoints
    for name in ("min_tokens", "max_checkpoints", "cacheable_fields", "ttls", "prices"):
        assert getattr(profile, name) == getattr(borrowed, name), name
    assert profile.tokenizer == borrowed.tokenizer
    # The simulator serves every id it lists and has no provider-side diagnostics.
    assert profile.retired is None and not profile.diagnostics


@pytest.mark.parametrize(
    ("model", "min_tokens", "ttls", "read", "write"),
    [
        ("anthropic/claude-opus-5", 512, TTLS, "0.50", "6.25"),
        ("anthropic/claude-fable-5", 512, TTLS, "1.00", "12.50"),
        ("anthropic/claude-opus-4-7", 2048, TTLS, "0.50", "6.25"),
        ("bedrock/anthropic.claude-opus-4-7", 4096, TTLS, "0.50", "6.25"),
        ("bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0", 1024, TTLS, "0.30", "3.75"),
        ("bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0", 1024, ("5m",), "0.30", "3.75"),
        ("bedrock/amazon.nova-pro-v1:0", 1024, ("5m",), "0.20", "0.80"),
        ("openai/gpt-4o", 1024, TTLS, "1.25", "2.50"),
        ("openai/gpt-4.1", 1024, TTLS, "0.50", "2.00"),
        ("openai/gpt-5", 1024, TTLS, "0.125", "1.25"),
        ("openai/gpt-5.6-terra", 1024, TTLS, "0.20", "2.50"),
    ],
)
def test_this_season_figures(model, min_tokens, ttls, read, write):
    profile = get_profile(model)

    assert (profile.min_tokens, profile.ttls) == (min_tokens, ttls)
    assert profile.prices.cache_read == Decimal(read)
    assert profile.prices.cache_write_5m == Decimal(write)


@pytest.mark.parametrize(
    ("model", "ratio"),
    [("openai/gpt-4o", "0.5"), ("openai/gpt-4.1", "0.25"), ("openai/gpt-5", "0.1")],
)
def test_openai_read_discount_is_per_model(model, ratio):
    prices = get_profile(model).prices

    assert prices.cache_read / prices.input == Decimal(ratio)
    assert prices.cache_write_5m == prices.input  # no write surcharge before GPT-5.6


def test_explicit_breakpoint_models_are_gpt_5_6_and_later():
    explicit = {p.model for p in REAL if p.explicit_breakpoints}

    assert {"openai/gpt-5.6-sol", "openai/gpt-5.6-terra", "openai/gpt-5.6-luna"} <= explicit
    assert all(p.startswith("openai/") for p in explicit)
    assert not get_profile("openai/gpt-5.5").explicit_breakpoints


@pytest.mark.parametrize(
    ("model", "date", "successor"),
    [
        ("anthropic/claude-3-7-sonnet-20250219", "2026-02-19", "anthropic/claude-sonnet-4-6"),
        ("anthropic/claude-3-5-haiku-latest", "2026-02-19", "anthropic/claude-haiku-4-5"),
        ("anthropic/claude-3-haiku-20240307", "2026-04-20", "anthropic/claude-haiku-4-5"),
        ("anthropic/claude-sonnet-4-0", "2026-06-15", "anthropic/claude-sonnet-4-6"),
        ("anthropic/claude-opus-4-1", "2026-08-05", "anthropic/claude-opus-4-8"),
    ],
)
def test_retired_api_models_name_their_date_and_successor(model, date, successor):
    profile = get_profile(model)

    assert (profile.retired, profile.successor) == (date, successor)
    assert get_profile(successor).retired is None


def test_opus_4_1_is_retired_on_the_api_but_not_on_bedrock():
    assert get_profile("anthropic/claude-opus-4-1").retired == "2026-08-05"
    assert get_profile("bedrock/anthropic.claude-opus-4-1-20250805-v1:0").retired is None


@pytest.mark.parametrize(
    "model", ["anthropic/claude-opus-4-7", "anthropic/claude-opus-4-8", "anthropic/claude-sonnet-5"]
)
def test_models_that_reject_sampling_params_say_so(model):
    assert set(get_profile(model).rejected_params) >= {"temperature", "top_p", "top_k"}


def test_new_tokenizer_family_for_opus_4_7_and_later():
    assert get_profile("anthropic/claude-opus-4-7").tokenizer == "claude-2026"
    assert get_profile("anthropic/claude-sonnet-5").tokenizer == "claude-2026"
    assert get_profile("anthropic/claude-sonnet-4-6").tokenizer == "claude"


def test_regional_surcharge_from_sonnet_4_5_on():
    assert get_profile("bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0").regional_surcharge == (
        Decimal("1.1")
    )
    assert get_profile("bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0").regional_surcharge == 1


def test_diagnostics_only_on_the_claude_api_and_gpt_5_6():
    assert get_profile("anthropic/claude-sonnet-4-5").diagnostics
    assert not get_profile("bedrock/anthropic.claude-sonnet-4-6").diagnostics
    assert not get_profile("sim/claude-sonnet-4-5").diagnostics


@pytest.mark.parametrize(
    ("model", "min_tokens", "ttls", "fields"),
    [
        ("anthropic/claude-opus-9", 4096, TTLS, CACHEABLE_FIELDS),
        ("anthropic/Claude-Sonnet-4-5", 4096, TTLS, CACHEABLE_FIELDS),
        ("bedrock/global.anthropic.claude-opus-9", 4096, TTLS, CACHEABLE_FIELDS),
        ("bedrock/amazon.nova-3-pro-v1:0", 1024, ("5m",), {"system", "messages"}),
        ("bedrock/us.meta.llama3-70b-instruct-v1:0", 4096, ("5m",), CACHEABLE_FIELDS),
        ("openai/some-local-model", 1024, TTLS, CACHEABLE_FIELDS),
    ],
)
def test_unknown_models_get_their_providers_conservative_defaults(model, min_tokens, ttls, fields):
    profile = get_profile(model)

    assert profile.model == model and not profile.known
    assert (profile.min_tokens, profile.ttls, profile.cacheable_fields) == (
        min_tokens,
        ttls,
        frozenset(fields),
    )
    assert profile.prices.input is None  # unknown, not 0
    assert profile.retired is None


def test_unknown_sim_model_is_an_error_with_close_matches():
    with pytest.raises(UnknownModelError) as caught:
        get_profile("sim/claude-sonet-4-5")

    assert "sim/claude-sonnet-4-5" in caught.value.suggestions


def test_close_matches_name_likely_typos():
    assert "anthropic/claude-sonnet-4-5" in close_matches("anthropic/claude-sonet-4-5")


def test_is_regional_tells_geo_profiles_from_global_and_base_ids():
    assert is_regional("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert is_regional("apac.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert not is_regional("global.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert not is_regional("anthropic.claude-sonnet-4-5-20250929-v1:0")


def test_the_built_in_catalog_is_versioned():
    catalog = active_catalog()

    assert catalog.version == "2026-12-03"
    assert catalog.files[0].endswith("catalog.toml")
