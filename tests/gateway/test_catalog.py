from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

import pytest

from gateway.catalog import CACHEABLE_FIELDS, all_profiles, get_profile, known_models
from gateway.errors import UnknownModelError, UnknownProviderError
from gateway.registry import PROVIDERS
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
    assert profile.notes


@pytest.mark.parametrize("profile", PROFILES, ids=ids)
def test_every_profile_has_sane_prices(profile):
    prices = profile.prices
    values = [prices.input, prices.output, prices.cache_write_5m, prices.cache_write_1h]
    assert all(isinstance(value, Decimal) and value >= 0 for value in [*values, prices.cache_read])
    assert prices.cache_read < prices.input or prices.input == 0
    assert prices.cache_write_5m >= prices.input


@pytest.mark.parametrize(
    "profile", [p for p in PROFILES if "claude" in p.model_id and p.max_checkpoints], ids=ids
)
def test_claude_one_hour_write_costs_at_least_the_five_minute_write(profile):
    assert profile.prices.cache_write_1h >= profile.prices.cache_write_5m > profile.prices.input
    assert profile.max_checkpoints == 4
    assert profile.cacheable_fields == CACHEABLE_FIELDS
    assert profile.max_cacheable_tokens is None


@pytest.mark.parametrize("profile", PROFILES, ids=ids)
def test_every_entry_resolves_by_its_own_model_string(profile):
    assert get_profile(profile.model) is profile


@pytest.mark.parametrize("model_id", REQUIRED_ANTHROPIC)
def test_required_anthropic_models_are_covered(model_id):
    assert get_profile(f"anthropic/{model_id}").provider == "anthropic"


@pytest.mark.parametrize("model_id", REQUIRED_BEDROCK)
def test_required_bedrock_models_are_covered(model_id):
    assert get_profile(f"bedrock/{model_id}").provider == "bedrock"


@pytest.mark.parametrize("profile", [p for p in PROFILES if p.provider == "sim"], ids=ids)
def test_sim_entries_equal_their_borrowed_entry(profile):
    borrowed = get_profile(profile.borrows)

    assert profile.borrows.split("/")[0] in {"anthropic", "bedrock"}
    for name in LIMIT_FIELDS:
        if name not in {"aliases", "notes", "borrows"}:
            assert getattr(profile, name) == getattr(borrowed, name), name


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


def test_unknown_model_error_lists_close_matches():
    with pytest.raises(UnknownModelError) as caught:
        get_profile("anthropic/claude-sonet-4-5")

    assert "anthropic/claude-sonnet-4-5" in caught.value.suggestions
    assert "'anthropic/claude-sonet-4-5'" in str(caught.value)
    assert "anthropic/claude-sonnet-4-5" in str(caught.value)


def test_unknown_bedrock_model_does_not_fall_back():
    with pytest.raises(UnknownModelError):
        get_profile("bedrock/us.meta.llama3-70b-instruct-v1:0")


def test_unknown_provider_is_not_a_model_error():
    with pytest.raises(UnknownProviderError):
        get_profile("vertex/gemini-2.5-pro")


def test_ids_are_case_sensitive():
    with pytest.raises(UnknownModelError):
        get_profile("anthropic/Claude-Sonnet-4-5")


def test_nova_cannot_cache_tools_and_caps_at_20000():
    for model_id in ("nova-micro-v1:0", "nova-lite-v1:0", "nova-pro-v1:0", "nova-premier-v1:0"):
        profile = get_profile(f"bedrock/amazon.{model_id}")

        assert profile.cacheable_fields == frozenset({"system", "messages"})
        assert profile.max_cacheable_tokens == 20000
        assert profile.ttls == ("5m",)
        assert "20K" in profile.notes and "32K" in profile.notes


def test_nova_prices_are_exact():
    micro = get_profile("bedrock/amazon.nova-micro-v1:0").prices

    assert micro.input == Decimal("0.035") == micro.cache_write_5m
    assert micro.cache_read == Decimal("0.00875")


def test_openai_local_model_falls_back_to_the_generic_profile():
    profile = get_profile("openai/some-local-model")

    assert profile.model == "openai/some-local-model"
    assert profile.min_tokens == 1024
    assert profile.prices.input == profile.prices.output == 0
    assert "unknown" in profile.notes


def test_openai_known_model_has_its_prices():
    assert get_profile("openai/gpt-5").prices.cache_read == Decimal("0.125")


def test_bedrock_conflicting_minimum_takes_the_larger_and_says_so():
    profile = get_profile("bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0")

    assert profile.min_tokens == 4096
    assert "CONFLICT" in profile.notes


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
