"""Operator catalog files: adding and overriding profiles without code, and their errors."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from gateway.catalog import active_catalog, get_profile, load_catalog, use_catalog
from gateway.errors import CatalogError


@pytest.fixture
def in_force():
    """Put a catalog in force for one test, and the built-in one back afterwards."""
    before = active_catalog()
    yield use_catalog
    use_catalog(before)


def write(tmp_path, text, name="models.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_operator_file_overrides_one_price_and_keeps_the_rest(tmp_path, in_force):
    path = write(
        tmp_path,
        """
version = "acme-7"
[[models]]
model = "anthropic/claude-sonnet-4-5-20250929"
prices = {cache_read = "0.25"}
""",
    )
    in_force(load_catalog(path))
    profile = get_profile("anthropic/claude-sonnet-4-5")

    assert profile.prices.cache_read == Decimal("0.25")
    assert profile.prices.input == Decimal("3")  # not overridden: still the built-in figure
    assert profile.min_tokens == 1024
    assert str(path) in profile.sources["prices"]
    assert active_catalog().version == "2026-12-03 + acme-7"


def test_operator_file_adds_a_model_released_tomorrow(tmp_path, in_force):
    path = write(
        tmp_path,
        """
[[models]]
model = "anthropic/claude-sonnet-5-1"
min_tokens = 1024
tokenizer = "claude-2026"
prices = {input = "2", output = "10", cache_write_5m = "2.50", cache_write_1h = "4", cache_read = "0.20"}
source = "Anthropic pricing page, 2026-12-01"
""",
    )
    in_force(load_catalog(path))
    profile = get_profile("anthropic/claude-sonnet-5-1")

    assert profile.known and profile.min_tokens == 1024
    assert profile.ttls == ("5m", "1h")  # inherited from anthropic/*
    assert profile.sources["ttls"].startswith("default of anthropic/*")
    assert profile.sources["min_tokens"] == "Anthropic pricing page, 2026-12-01"


def test_operator_file_may_be_json(tmp_path, in_force):
    data = {"models": [{"model": "openai/my-vllm-model", "min_tokens": 256}]}
    in_force(load_catalog(write(tmp_path, json.dumps(data), "models.json")))

    assert get_profile("openai/my-vllm-model").min_tokens == 256


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[models]]\nmodel = "anthropic/x"\nmin_tokens = 0', "anthropic/x: min_tokens must be"),
        ('[[models]]\nmodel = "anthropic/x"\nttls = ["2h"]', "ttls must be a non-empty list"),
        ('[[models]]\nmodel = "anthropic/x"\nmin_tokns = 1', "unknown key(s) min_tokns"),
        ('[[models]]\nmodel = "vertex/x"', "unknown provider 'vertex'"),
        ("[[models]]\nmin_tokens = 1", "needs a 'model' string"),
        ('[[models]]\nmodel = "anthropic/x"\nprices = "gold"', "names no [prices.gold] table"),
        (
            '[[models]]\nmodel = "anthropic/x"\nprices = {input = "-1"}',
            "prices.input must be a non-negative number",
        ),
        ('[[models]]\nmodel = "anthropic/x"\nretired = "soon"', "'soon' is not a date"),
        ('[[models]]\nmodel = "anthropic/x"\nsuccessor = "sim/nope"', "successor 'sim/nope'"),
        ('[[models]]\nmodel = "anthropic/x"\ntokenizer = "bpe"', "tokenizer must be one of"),
        (
            '[[models]]\nmodel = "anthropic/x"\napi = "assistants"',
            "api must be one of chat, responses",
        ),
        ('[[models]]\nmodel = "anthropic/x"\napi = "responses"', "is for openai/ models only"),
        (
            '[[models]]\nmodel = "openai/gpt-5.6-terra"\napi = "chat"',
            'diagnostics on OpenAI need api = "responses"',
        ),
        ('[[models]]\nmodel = "sim/x"\nborrows = "anthropic/nope"', "'borrows' is for sim/"),
        ("modles = []", "unknown top-level key 'modles'"),
        ("models = [", "not valid TOML"),
    ],
)
def test_a_bad_catalog_file_names_the_entry_and_the_field(tmp_path, text, expected):
    path = write(tmp_path, text)

    with pytest.raises(CatalogError) as caught:
        load_catalog(path)

    assert expected in str(caught.value)
    assert (
        str(path) in str(caught.value)
        or "anthropic/x" in str(caught.value)
        or "openai/gpt-5.6-terra" in str(caught.value)
        or "sim/x" in str(caught.value)
    )


def test_every_problem_is_listed_at_once(tmp_path):
    path = write(
        tmp_path,
        '[[models]]\nmodel = "anthropic/a"\nmin_tokens = 0\n'
        '[[models]]\nmodel = "anthropic/b"\nmax_checkpoints = 9\n',
    )

    with pytest.raises(CatalogError) as caught:
        load_catalog(path)

    assert len(caught.value.problems) == 2


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogError, match="cannot be read"):
        load_catalog(tmp_path / "absent.toml")
