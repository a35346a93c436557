"""The render API answers the same whether the prefix cache is on or off (engine/splice.py)."""

from __future__ import annotations

from typing import Any

import pytest

from templates_app import services
from tests.factories import DOCUMENT, make_body, make_template, make_version

URL = "/api/v1/templates/doc-qa/render"
# services.prefix_cache() keeps one cache per bound: a bound of a test's own is a fresh cache.
BOUND = 32 * 1024 * 1024
TWO_CHECKPOINTS = make_body()
TWO_CHECKPOINTS["messages"][1]["content"] = [
    {
        "type": "text",
        "text": "Policy for {{ words }} words.",
        "cache_control": {"type": "ephemeral"},
    },
    {"type": "text", "text": "{{ question }}"},
]
CALLS: list[dict[str, Any]] = [
    {"variables": {"document": DOCUMENT, "question": "Uptime?"}},
    {"variables": {"document": DOCUMENT, "question": "Refunds?", "words": 5}},
    {"variables": {"document": DOCUMENT, "question": "Uptime?"}, "version": 2},
    {"variables": {"document": DOCUMENT, "question": "Again?"}, "version": 2},
    {"variables": {"document": DOCUMENT + "!", "question": "Uptime?"}},
    {
        "variables": {"document": DOCUMENT, "question": "Why?"},
        "model": "anthropic/claude-sonnet-4-5",
    },
    {"variables": {"document": DOCUMENT, "question": "Why?"}, "model": "openai/gpt-4o"},
    {"variables": {"document": DOCUMENT, "question": "Why?"}, "model": "openai/gpt-5.6-sol"},
    {
        "variables": {"document": DOCUMENT, "question": "Why?"},
        "model": "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    },
    {"variables": {"document": DOCUMENT}},  # the question is missing
    {"variables": {"document": DOCUMENT, "question": "Why?", "tone": "calm"}},  # undeclared
    {"variables": {"document": 7, "question": "Why?"}},  # the wrong type
    {"variables": {"document": DOCUMENT, "question": "Why?" * 3000}},  # over the output limit
]


def answers(api: Any) -> list[tuple[int, Any]]:
    return [(r.status_code, r.json()) for r in (api.post(URL, c, format="json") for c in CALLS)]


@pytest.fixture
def versions(db):
    template = make_template()
    make_version(template)
    make_version(template, TWO_CHECKPOINTS)
    return template


def test_the_render_api_answers_exactly_the_same_with_the_prefix_cache_on_and_off(
    api, versions, settings
):
    settings.CACHET = {**settings.CACHET, "RENDER_MAX_OUTPUT_CHARS": 10_000}
    settings.CACHET = {**settings.CACHET, "PREFIX_CACHE_BYTES": 0}
    assert services.prefix_cache() is None
    off = answers(api)
    settings.CACHET = {**settings.CACHET, "PREFIX_CACHE_BYTES": BOUND + 1}
    on_miss, on_hit = answers(api), answers(api)
    assert on_miss == off and on_hit == off
    assert [status for status, _ in off].count(400) == 4
    assert 1 < len(services.prefix_cache()) < len(CALLS)


def test_a_send_path_render_fills_the_process_prefix_cache_once_per_prefix(versions, settings):
    settings.CACHET = {**settings.CACHET, "PREFIX_CACHE_BYTES": BOUND + 2}
    for question in ("One?", "Two?", "Three?"):
        services.template_render(
            template=versions, version=1, variables={"document": DOCUMENT, "question": question}
        )
    assert len(services.prefix_cache()) == 1
