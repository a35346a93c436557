"""The renderer: variables, output, fingerprints, prefix/suffix variables, checkpoint status."""

from __future__ import annotations

import pytest

from gateway.errors import UnknownModelError
from templates_app.engine import rendering
from templates_app.engine.errors import RenderError, VariableError
from templates_app.engine.rendering import compile_body, render
from tests.factories import DOCUMENT, make_body, make_tool

VALUES = {"document": DOCUMENT, "question": "Is it up?"}


def variable_issues(compiled, values) -> list[dict[str, str]]:
    with pytest.raises(VariableError) as caught:
        render(compiled, values)
    return caught.value.details


def test_render_fills_text_fields_and_keeps_the_rest():
    result = render(compile_body(make_body()), {**VALUES, "words": 7})
    system, user = result.request.messages
    assert system.content[1].text == DOCUMENT
    assert system.content[1].cache_control.ttl == "1h"
    assert user.content == "Answer in 7 words: Is it up?"
    assert result.request.model == "sim/claude-sonnet-4-5"
    assert result.request.params == {"max_tokens": 256, "temperature": 0}


def test_defaults_apply_when_a_variable_is_not_passed():
    result = render(compile_body(make_body()), VALUES)
    assert result.request.messages[1].content == "Answer in 20 words: Is it up?"


def test_missing_required_variable_is_named_never_an_empty_string():
    assert variable_issues(compile_body(make_body()), {"question": "q"}) == [
        {"variable": "document", "message": "is required"}
    ]


def test_unknown_variable_is_named():
    issues = variable_issues(compile_body(make_body()), {**VALUES, "qestion": "typo"})
    assert issues[0]["variable"] == "qestion"
    assert "not declared" in issues[0]["message"]


def test_a_mistyped_variable_gets_the_declared_name_it_is_close_to():
    with pytest.raises(VariableError) as caught:
        render(compile_body(make_body()), {"document": DOCUMENT, "qestion": "typo"})
    unknown, missing = caught.value.details
    assert unknown["variable"] == "qestion"
    assert "did you mean 'question'?" in unknown["message"]
    assert missing == {"variable": "question", "message": "is required"}
    assert "did you mean 'question'?" in caught.value.message


def test_a_variable_close_to_no_declared_name_gets_no_suggestion():
    [issue] = variable_issues(compile_body(make_body()), {**VALUES, "colour": "blue"})
    assert "did you mean" not in issue["message"]


@pytest.mark.parametrize(
    ("spec", "value", "fragment"),
    [
        ({"type": "integer"}, "7", "must be an integer, got string"),
        ({"type": "integer"}, True, "must be an integer, got boolean"),
        ({"type": "integer"}, 1.5, "must be an integer, got number"),
        ({"type": "number"}, "1", "must be a number"),
        ({"type": "boolean"}, 1, "must be a boolean"),
        ({"type": "array"}, {}, "must be an array"),
        ({"type": "object"}, [], "must be an object"),
        ({"type": "string", "max_length": 3}, "four", "over max_length 3"),
        ({"type": "array", "max_length": 1}, [1, 2], "2 items long"),
        ({"type": "string", "enum": ["en", "de"]}, "fr", 'one of ["en", "de"]'),
        ({"type": "string"}, "nul\x00", "NUL"),
    ],
)
def test_wrong_variable_value_is_a_clear_error(spec, value, fragment):
    body = make_body()
    body["variables"]["extra"] = {**spec, "required": True}
    body["messages"][1]["content"] += " {{ extra }}"
    issues = variable_issues(compile_body(body), {**VALUES, "extra": value})
    assert issues[0]["variable"] == "extra"
    assert fragment in issues[0]["message"]


def test_optional_variable_without_default_can_be_tested_with_is_defined():
    body = make_body()
    body["variables"]["hint"] = {"type": "string", "required": False}
    body["messages"][1]["content"] = "{% if hint is defined %}Hint: {{ hint }}{% endif %}Go."
    compiled = compile_body(body)
    assert render(compiled, VALUES).request.messages[1].content == "Go."
    assert render(compiled, {**VALUES, "hint": "x"}).request.messages[1].content == "Hint: xGo."


def test_render_error_names_version_and_field_path():
    body = make_body()
    body["messages"][1]["content"] = "{{ words / 0 }}"
    with pytest.raises(RenderError) as caught:
        render(compile_body(body), VALUES, version=3)
    assert caught.value.details == {"version": 3, "path": "messages[1].content"}
    assert "version 3, messages[1].content" in caught.value.message


def test_prefix_and_suffix_variables_come_from_the_template_ast():
    body = make_body()
    body["messages"][0]["content"][0]["text"] = "{% set tone = 'calm' %}Be {{ tone }}."
    compiled = compile_body(body)
    assert compiled.prefix_variables == ("document",)
    assert compiled.suffix_variables == ("question", "words")


def test_a_variable_named_in_a_string_literal_is_not_a_variable():
    body = make_body()
    body["messages"][0]["content"][0]["text"] = "{{ 'question' }} and {# words #}"
    assert compile_body(body).prefix_variables == ("document",)


def test_without_checkpoints_every_variable_is_a_suffix_variable():
    body = make_body()
    del body["messages"][0]["content"][1]["cache_control"]
    compiled = compile_body(body)
    assert compiled.prefix_variables == ()
    assert render(compiled, VALUES).checkpoints == ()


def test_fingerprint_ignores_suffix_and_follows_prefix_values():
    compiled = compile_body(make_body())
    first = render(compiled, VALUES).checkpoints[0].fingerprint
    other_suffix = render(compiled, {**VALUES, "question": "Other?", "words": 3})
    other_prefix = render(compiled, {**VALUES, "document": DOCUMENT + "."})
    assert first.startswith("sha256:") and len(first) == 71
    assert other_suffix.checkpoints[0].fingerprint == first
    assert other_prefix.checkpoints[0].fingerprint != first


def test_fingerprint_depends_on_the_model():
    compiled = compile_body(make_body())
    sonnet = render(compiled, VALUES).checkpoints[0].fingerprint
    haiku = render(compiled, VALUES, model="sim/claude-haiku-4-5").checkpoints[0].fingerprint
    assert sonnet != haiku


def test_object_values_render_the_same_whatever_their_key_order():
    body = make_body()
    body["variables"]["config"] = {"type": "object"}
    body["messages"][0]["content"][0]["text"] = "{{ config | tojson }} {{ config }}"
    compiled = compile_body(body)
    one = render(compiled, {**VALUES, "config": {"b": 1, "a": {"y": 2, "x": 1}}})
    two = render(compiled, {**VALUES, "config": {"a": {"x": 1, "y": 2}, "b": 1}})
    assert one.request.messages[0].content[0].text == two.request.messages[0].content[0].text
    assert one.checkpoints[0].fingerprint == two.checkpoints[0].fingerprint


def test_checkpoint_reports_tokens_against_the_model_minimum():
    compiled = compile_body(make_body())
    long = render(compiled, VALUES).checkpoints[0]
    short = render(compiled, {**VALUES, "document": "tiny"})
    assert (long.status, long.min_tokens) == ("will_cache", 1024)
    assert long.tokens > 1024
    assert short.checkpoints[0].status == "below_minimum"
    assert short.warnings[0]["code"] == "below_minimum"
    assert "will not be cached" in short.warnings[0]["message"]


def test_checkpoint_in_a_field_the_model_cannot_cache_is_reported():
    body = make_body(tools=[make_tool(cache_control={"type": "ephemeral"})])
    result = render(compile_body(body), VALUES, model="bedrock/amazon.nova-pro-v1:0")
    assert [c.status for c in result.checkpoints] == ["not_cacheable", "will_cache"]


def test_nova_cache_cap_is_reported():
    result = render(
        compile_body(make_body()),
        {**VALUES, "document": DOCUMENT * 15},
        model="bedrock/amazon.nova-pro-v1:0",
    )
    assert result.checkpoints[0].status == "over_cache_limit"


def test_per_request_variable_in_the_prefix_is_a_warning():
    body = make_body()
    body["variables"]["document"]["per_request"] = True
    codes = [w["code"] for w in render(compile_body(body), VALUES).warnings]
    assert "per_request_prefix_variable" in codes


def test_unknown_sim_model_override_is_refused():
    with pytest.raises(UnknownModelError):
        render(compile_body(make_body()), VALUES, model="sim/claude-unknown")


def test_model_released_tomorrow_renders_with_a_warning():
    result = render(compile_body(make_body()), VALUES, model="anthropic/claude-opus-6")

    assert result.request.model == "anthropic/claude-opus-6"
    assert not result.profile.known
    assert "unknown_model_limits" in [w["code"] for w in result.warnings]


def test_cache_key_is_the_last_checkpoint_fingerprint():
    result = render(compile_body(make_body()), VALUES)
    assert result.request.cache_key == result.checkpoints[-1].fingerprint


def test_compiled_bodies_are_cached_per_content_hash():
    first = compile_body(make_body())
    assert compile_body(make_body()) is first
    other = make_body(params={"max_tokens": 1})
    assert compile_body(other).content_hash != first.content_hash
    assert rendering.compiled_for(first.content_hash, lambda: pytest.fail("reloaded")) is first


def test_literal_fields_are_not_compiled():
    compiled = compile_body(make_body())
    assert "messages[0].content[0].text" not in compiled.templates
    assert "messages[0].content[1].text" in compiled.templates


def test_whitespace_policy_is_fixed():
    body = make_body()
    body["messages"][1]["content"] = "{% if true %}\n  yes\n{% endif %}\n{{ question }}\n"
    result = render(compile_body(body), VALUES)
    assert result.request.messages[1].content == "\n  yes\n\nIs it up?\n"


def test_a_param_the_override_model_rejects_is_a_render_error_not_a_provider_400():
    with pytest.raises(RenderError) as caught:
        render(compile_body(make_body()), VALUES, model="anthropic/claude-opus-4-8")

    assert caught.value.details["path"] == "params.temperature"
    assert "anthropic/claude-opus-4-8 rejects temperature" in str(caught.value)


# --- render_prefix: what a warm-up sends ---------------------------------------------------


def test_render_prefix_needs_only_the_prefix_variables_and_renders_no_later_field():
    body = make_body()
    body["messages"][1]["content"] = "{{ question }} {{ 1 // 0 }}"  # would fail if rendered
    compiled = compile_body(body)

    result = rendering.render_prefix(compiled, {"document": DOCUMENT})

    [system] = result.request.messages
    assert system.content[1].text == DOCUMENT
    assert [c.fingerprint for c in result.checkpoints] == [
        c.fingerprint for c in render(compile_body(make_body()), VALUES).checkpoints
    ]
    assert result.request.cache_key == result.checkpoints[-1].fingerprint
    assert "question" not in result.variables


def test_render_prefix_still_names_a_missing_prefix_variable_and_checks_given_ones():
    compiled = compile_body(make_body())

    with pytest.raises(VariableError) as missing:
        rendering.render_prefix(compiled, {"question": "q"})
    with pytest.raises(VariableError) as wrong:
        rendering.render_prefix(compiled, {"document": DOCUMENT, "words": "seven"})

    assert missing.value.details == [{"variable": "document", "message": "is required"}]
    assert wrong.value.details[0]["variable"] == "words"
