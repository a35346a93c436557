"""The prefix cache (engine/splice.py): a spliced render is a full render, byte for byte."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.registry import translate
from gateway.wire import compact_json
from templates_app.engine.canonical import iter_block_texts, sort_keys_deep
from templates_app.engine.errors import CachetError
from templates_app.engine.rendering import Limits, compile_body, render
from templates_app.engine.splice import (
    Prefix,
    PrefixCache,
    is_json_data,
    render_spliced,
    values_key,
)
from tests.factories import make_body
from tests.templates_app.engine.test_byte_stability import (
    COMPILED,
    PREFIX,
    json_values,
    nasty_text,
    suffix_values,
    text,
)

# One model per wire: Anthropic, Bedrock Converse, OpenAI Chat, OpenAI Responses, simulator.
WIRE_MODELS = [
    "anthropic/claude-sonnet-4-5",
    "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "openai/gpt-4o",
    "openai/gpt-5.6-sol",
    "sim/claude-sonnet-4-5",
]
prefix_values = st.fixed_dictionaries(
    {
        "store": nasty_text,
        "document": nasty_text,
        "settings": st.dictionaries(text, json_values, max_size=4),
    }
)


def outcome(render_once, *args, **kwargs):
    """What a render gives: the result with its block texts and wire JSON, or its error."""
    try:
        result = render_once(*args, **kwargs)
    except CachetError as exc:
        return ("error", type(exc), str(exc), exc.details)
    blocks = [text for _, text in iter_block_texts(result.request)]
    return result, blocks, compact_json(translate(result.request))


def same_as_full(cache: PrefixCache, compiled, values, **kwargs) -> None:
    full = outcome(render, compiled, values, **kwargs)
    spliced = outcome(render_spliced, compiled, values, cache=cache, **kwargs)
    assert spliced == full


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefixes=st.lists(prefix_values, min_size=1, max_size=3),
    calls=st.lists(st.tuples(st.integers(0, 2), suffix_values), min_size=1, max_size=6),
    model=st.sampled_from(WIRE_MODELS),
)
def test_a_spliced_render_equals_a_full_render_in_every_byte_whatever_the_hit_and_miss_order(
    prefixes, calls, model
):
    cache = PrefixCache(4 * 1024 * 1024)
    for index, suffix in calls:
        values = {**prefixes[index % len(prefixes)], **suffix}
        same_as_full(cache, COMPILED, values, model=model)
    assert len(cache) <= len(prefixes)


DOCUMENT_QA = compile_body(make_body())  # its one prefix variable is a string: keyed by itself


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    documents=st.lists(nasty_text, min_size=1, max_size=3),
    calls=st.lists(st.tuples(st.integers(0, 2), nasty_text, st.integers()), max_size=6),
    model=st.sampled_from(WIRE_MODELS),
)
def test_a_spliced_render_keyed_by_the_document_itself_equals_a_full_render(
    documents, calls, model
):
    cache = PrefixCache(4 * 1024 * 1024)
    for index, question, words in calls:
        values = {"document": documents[index % len(documents)], "question": question}
        same_as_full(cache, DOCUMENT_QA, {**values, "words": words}, model=model)


names = st.sampled_from(["document", "settings", "store"])


@settings(max_examples=500, deadline=None)
@given(one=st.dictionaries(names, json_values), two=st.dictionaries(names, json_values))
def test_two_sets_of_values_share_a_key_exactly_when_their_canonical_json_is_equal(one, two):
    one, two = (sort_keys_deep(dict(sorted(values.items()))) for values in (one, two))
    assert (values_key(one) == values_key(two)) == (compact_json(one) == compact_json(two))
    assert values_key(one) == values_key(json.loads(compact_json(one)))  # equal, not identical


def test_every_wire_model_renders_the_fixture_body():
    for model in WIRE_MODELS:
        assert render(COMPILED, {**PREFIX, "question": "q"}, model=model).checkpoints


def test_a_hit_renders_the_suffix_only_and_reuses_the_prefix_checkpoints():
    cache = PrefixCache(1024 * 1024)
    first = render_spliced(COMPILED, {**PREFIX, "question": "one"}, cache=cache)
    second = render_spliced(COMPILED, {**PREFIX, "question": "two"}, cache=cache)
    assert len(cache) == 1
    assert second.checkpoints is first.checkpoints
    assert second.request.messages[-1].content == "two"


def test_distinct_prefix_values_never_share_an_entry_even_when_python_calls_them_equal():
    cache = PrefixCache(1024 * 1024)
    # 1 == 1.0 == True and 0.0 == -0.0 in Python; their JSON, and their renders, differ.
    for value in (1, 1.0, True, 0.0, -0.0, "1", [1], {"1": 1}):
        values = {**PREFIX, "settings": {"x": value}, "question": "q"}
        same_as_full(cache, COMPILED, values)
    assert len(cache) == 8


def test_values_that_are_not_plain_json_are_rendered_in_full_and_not_cached():
    cache = PrefixCache(1024 * 1024)
    for value in ((1, 2), [1, 2]):  # a tuple and a list print differently
        same_as_full(cache, COMPILED, {**PREFIX, "settings": {"x": value}, "question": "q"})
    assert len(cache) == 1
    assert not is_json_data({"x": (1, 2)}) and not is_json_data({1: "a"})


def test_a_prefix_reading_the_clock_is_never_cached():
    body = make_body()
    body["messages"][0]["content"][0]["text"] = "Today is {{ now() }}. {{ document }}"
    compiled = compile_body(body)
    cache = PrefixCache(1024 * 1024)
    values = {"document": "D", "question": "q"}
    render_spliced(compiled, values, cache=cache)
    assert not compiled.prefix_deterministic and len(cache) == 0


def test_no_cache_is_a_full_render():
    values = {**PREFIX, "question": "q"}
    assert render_spliced(COMPILED, values, cache=None) == render(COMPILED, values)


def _entry(size: int) -> Prefix:
    return Prefix(None, {}, 0, (), (), size)  # type: ignore[arg-type]


def test_the_size_bound_evicts_the_least_recently_used_entries():
    cache = PrefixCache(3000)
    for name in "abc":
        cache.put((name, "m", "k"), _entry(1000))
    cache.get(("a", "m", "k"))  # now the most recently used
    cache.put(("d", "m", "k"), _entry(1000))
    assert cache.get(("b", "m", "k")) is None
    assert all(cache.get((name, "m", "k")) for name in "acd")
    assert cache.bytes == 3000
    cache.put(("e", "m", "k"), _entry(3001))  # bigger than the bound: never stored
    assert cache.get(("e", "m", "k")) is None and len(cache) == 3


def test_many_distinct_40_kb_documents_stay_within_the_bound():
    cache = PrefixCache(1024 * 1024)
    for n in range(60):
        document = f"{n} " + "x" * 40_000
        render_spliced(COMPILED, {**PREFIX, "document": document, "question": "q"}, cache=cache)
    assert cache.bytes <= 1024 * 1024
    assert 10 <= len(cache) < 60


def test_concurrent_renders_share_the_cache_and_each_equals_its_full_render():
    cache = PrefixCache(256 * 1024)
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(40):
                values = {**PREFIX, "store": f"s{(worker + n) % 5}", "question": f"{n}"}
                same_as_full(cache, COMPILED, values)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert cache.bytes == sum(entry.size for entry in cache._entries.values())


# --- errors are reported exactly as a full render reports them ----------------------------


def failing_when_asked(code: str):
    """A body whose suffix runs ``code`` when the question is "boom"."""
    body = make_body()
    body["messages"][1]["content"] = (
        "{{ question }}{% if question == 'boom' %}" + code + "{% endif %}"
    )
    return compile_body(body)


@pytest.mark.parametrize(
    "code",
    [
        "{{ undeclared }}",  # an undefined name
        "{{ question.__class__.__mro__ }}",  # a sandbox violation
        "{{ 1 // 0 }}",  # an error of template code
        "{% for i in range(30) %}{{ document }}{% endfor %}",  # over the output limit
    ],
)
def test_an_error_in_the_suffix_is_reported_as_a_full_render_reports_it_on_a_hit(code):
    compiled = failing_when_asked(code)
    cache = PrefixCache(1024 * 1024)
    limits = Limits(max_output_chars=100_000)
    values = {"document": "D" * 5000, "question": "fine"}
    same_as_full(cache, compiled, values, version=3, limits=limits)  # a miss, now cached
    assert len(cache) == 1
    same_as_full(cache, compiled, {**values, "question": "boom"}, version=3, limits=limits)
    with pytest.raises(CachetError):
        render_spliced(compiled, {**values, "question": "boom"}, cache=cache, limits=limits)


def test_a_suffix_past_the_deadline_is_the_same_render_limit_error_on_a_hit():
    loop = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
    compiled = failing_when_asked(loop)
    cache = PrefixCache(1024 * 1024)
    limits = Limits(seconds=0.2)
    render_spliced(compiled, {"document": "D", "question": "fine"}, cache=cache, limits=limits)
    assert len(cache) == 1
    values = {"document": "D", "question": "boom"}
    with pytest.raises(CachetError) as hit:
        render_spliced(compiled, values, cache=cache, limits=limits, version=2)
    with pytest.raises(CachetError) as full:
        render(compiled, values, limits=limits, version=2)
    assert (type(hit.value), str(hit.value), hit.value.details) == (
        type(full.value),
        str(full.value),
        full.value.details,
    )
    assert "longer than the limit of 0.2 s" in str(hit.value)


def test_a_cached_prefix_over_a_lower_output_limit_fails_where_a_full_render_fails():
    cache = PrefixCache(1024 * 1024)
    values = {**PREFIX, "question": "q"}
    render_spliced(COMPILED, values, cache=cache)
    same_as_full(cache, COMPILED, values, limits=Limits(max_output_chars=1000))


def test_variable_checks_run_on_every_hit():
    body = make_body()
    body["variables"]["document"]["max_length"] = 10
    compiled = compile_body(body)
    cache = PrefixCache(1024 * 1024)
    render_spliced(compiled, {"document": "short", "question": "q"}, cache=cache)
    for values in (
        {"document": "far too long for it", "question": "q"},
        {"document": "short"},
        {"document": "short", "question": 3},
        {"document": "short", "question": "q", "extra": 1},
    ):
        same_as_full(cache, compiled, values)


@pytest.mark.parametrize("compiled", [COMPILED, DOCUMENT_QA], ids=["stability", "document-qa"])
def test_prefix_fields_render_before_every_suffix_field_so_the_output_budget_splits_exactly(
    compiled,
):
    order = [path in compiled.prefix_fields for path in compiled.templates]
    assert order == sorted(order, reverse=True) and any(order)
