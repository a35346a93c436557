"""Lint: errors block a version and name their location; warnings ride along."""

from __future__ import annotations

import pytest

from gateway.tokens import estimate_method
from templates_app.engine.lint import lint
from templates_app.engine.rendering import compile_body
from tests.factories import DOCUMENT, make_body, make_tool

SAMPLES = {"document": DOCUMENT, "question": "Is it up?"}


def report_for(body: dict, **kwargs) -> dict:
    return lint(compile_body(body), sample_variables=kwargs.pop("samples", SAMPLES), **kwargs)


def codes(issues: list[dict]) -> list[str]:
    return [issue["code"] for issue in issues]


def with_system_text(text: str, **variables) -> dict:
    body = make_body()
    body["variables"].update(variables)
    body["messages"][0]["content"][0]["text"] = text
    return body


def test_clean_body_is_ok_with_estimates_from_the_sample_variables():
    report = report_for(make_body())
    assert report["ok"] is True
    assert report["errors"] == [] and report["warnings"] == []
    assert report["estimated_with"] == "sample variables"
    assert report["token_method"] == estimate_method("claude")
    [checkpoint] = report["checkpoints"]
    assert checkpoint["status"] == "will_cache" and checkpoint["tokens"] > 1024
    assert report["prefix_variables"] == ["document"]


def test_more_checkpoints_than_the_model_allows_is_an_error_at_the_first_extra_one():
    body = make_body()
    body["messages"][0]["content"] = [
        {"type": "text", "text": f"part {n}", "cache_control": {"type": "ephemeral"}}
        for n in range(5)
    ]
    report = report_for(body, samples={"question": "q"})
    assert report["ok"] is False
    [error] = [e for e in report["errors"] if e["code"] == "too_many_checkpoints"]
    assert error["path"] == "messages[0].content[4]"
    assert "5 checkpoints" in error["message"] and "at most 4" in error["message"]


def test_tool_checkpoint_for_a_model_that_cannot_cache_tools_is_an_error():
    body = make_body(tools=[make_tool(cache_control={"type": "ephemeral"})])
    body["messages"][0]["content"][1]["cache_control"] = {"type": "ephemeral"}
    assert report_for(body)["ok"] is True
    report = report_for(body, model="bedrock/amazon.nova-pro-v1:0")
    [error] = [e for e in report["errors"] if e["code"] == "checkpoint_not_cacheable"]
    assert error["path"] == "tools[0]"
    assert "cannot cache tools" in error["message"]


def test_ttl_the_model_does_not_offer_is_an_error():
    report = report_for(make_body(), model="bedrock/amazon.nova-pro-v1:0")
    assert codes(report["errors"]) == ["ttl_not_supported"]


def test_one_hour_checkpoint_after_a_five_minute_one_is_an_error():
    body = make_body(tools=[make_tool(cache_control={"type": "ephemeral", "ttl": "5m"})])
    [error] = report_for(body)["errors"]
    assert (error["code"], error["path"]) == ("ttl_order", "messages[0].content[1]")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Today is {{ now() }}.", "'now' (the clock)"),
        ("Request {{ uuid() }}.", "'uuid' (a random uuid)"),
        ("Pick {{ ['a', 'b'] | random }}.", "'random' filter"),
        ("{% for k, v in config.items() %}{{ k }}={{ v }}{% endfor %}", ".items()"),
        ("{% for k in config %}{{ k }}{% endfor %}", "iteration over the object 'config'"),
        ("{{ config.keys() | join(',') }}", ".keys()"),
    ],
)
def test_nondeterministic_construct_in_a_cached_region_is_an_error_with_its_line(text, fragment):
    body = with_system_text("Intro\n\n" + text, config={"type": "object", "default": {}})
    report = report_for(body)
    [error] = report["errors"]
    assert (error["code"], error["path"], error["line"]) == (
        "nondeterministic",
        "messages[0].content[0].text",
        3,
    )
    assert fragment in error["message"]


def test_ordered_iteration_over_an_object_is_fine():
    text = "{% for k, v in config | dictsort %}{{ k }}{% endfor %}{{ config.items() | sort }}"
    assert report_for(with_system_text(text, config={"type": "object", "default": {}}))["ok"]


def test_nondeterministic_constructs_after_the_last_checkpoint_are_fine():
    body = make_body()
    body["messages"][1]["content"] = "At {{ now().isoformat() }} ({{ uuid() }}): {{ question }}"
    assert report_for(body)["ok"] is True


def test_undeclared_variable_is_an_error_with_its_line():
    [error] = report_for(with_system_text("Hello\n{{ customer }}"))["errors"]
    assert error["code"] == "undeclared_variable"
    assert (error["path"], error["line"]) == ("messages[0].content[0].text", 2)
    assert "'customer'" in error["message"]


def test_an_undeclared_variable_close_to_a_declared_one_gets_a_suggestion():
    body = make_body()
    body["messages"][1]["content"] = "Answer in {{ words }} words: {{ questoin }} {{ question }}"
    [error] = report_for(body)["errors"]
    assert error["code"] == "undeclared_variable"
    assert "'questoin'" in error["message"]
    assert error["message"].endswith("(did you mean 'question'?)")


@pytest.mark.parametrize(
    "source, what",
    [
        ("{{ self }}", "'self'"),
        ("{% for i in [1] %}{{ loop }}{% endfor %}", "'loop'"),
        ("{{ range }}", "'range'"),
        ("{{ range(3) }}", "range(...)"),
        ("{{ cycler(1, 2) }}", "cycler(...)"),
        ("{{ namespace() }}", "namespace(...)"),
        ("{{ now }}", "'now'"),
        ("{{ [1, namespace()] }}", "namespace(...)"),
        ("{{ config.items() }}", ".items()"),
        ("{{ self|string }}", "'self'"),
        ("x\n{{ 'a' ~ self }}", "'self'"),
    ],
)
def test_printing_a_template_object_is_an_error_with_its_line(source, what):
    body = with_system_text(source, config={"type": "object", "default": {}})
    errors = [e for e in report_for(body)["errors"] if e["code"] == "unprintable"]
    assert len(errors) == 1, report_for(body)["errors"]
    [error] = errors
    assert error["path"] == "messages[0].content[0].text"
    assert what in error["message"] and "cannot be printed" in error["message"]
    assert error["line"] == source.count("\n") + 1


def test_template_objects_used_rather_than_printed_are_fine():
    text = (
        "{% for i in range(3) %}{{ loop.index }}{% endfor %}"
        "{% set ns = namespace(n=1) %}{{ ns.n }}{{ cycler('a').next() }}"
        "{{ config|dictsort }}{% for k, v in config.items()|sort %}{{ k }}{% endfor %}"
    )
    report = report_for(with_system_text(text, config={"type": "object", "default": {}}))
    assert not [e for e in report["errors"] if e["code"] == "unprintable"], report["errors"]


def test_names_set_inside_the_template_are_not_undeclared():
    text = "{% set x = 1 %}{% for item in [1, 2] %}{{ item }}{{ loop.index }}{% endfor %}{{ x }}"
    assert report_for(with_system_text(text))["ok"] is True


def test_syntax_error_is_an_error_with_its_line():
    [error] = report_for(with_system_text("one\ntwo {% if %}\nthree"))["errors"]
    assert error["code"] == "syntax_error"
    assert error["path"] == "messages[0].content[0].text"
    assert error["line"] == 2
    assert "line 2" in error["message"]


def test_unknown_model_is_an_error():
    report = report_for(make_body(model="sim/no-such-model"))
    assert codes(report["errors"]) == ["unknown_model"]


def test_checkpoint_below_the_minimum_is_a_warning_not_an_error():
    report = report_for(make_body(), samples={**SAMPLES, "document": "short"})
    assert report["ok"] is True
    assert codes(report["warnings"]) == ["below_minimum"]
    assert report["warnings"][0]["path"] == "messages[0].content[1]"


def test_without_complete_samples_lint_estimates_from_the_static_text():
    report = report_for(make_body(), samples={})
    assert report["estimated_with"].startswith("static text only")
    assert "document" in report["estimated_with"]
    assert codes(report["warnings"]) == ["below_minimum"]


def test_over_the_cache_cap_is_a_warning():
    body = make_body(model="sim/nova-pro")
    body["messages"][0]["content"][1]["cache_control"] = {"type": "ephemeral"}
    report = report_for(body, samples={**SAMPLES, "document": DOCUMENT * 15})
    assert codes(report["warnings"]) == ["over_cache_limit"]


def test_per_request_prefix_variable_and_unused_variable_are_warnings():
    body = make_body()
    body["variables"]["document"]["per_request"] = True
    body["variables"]["spare"] = {"type": "string", "default": ""}
    report = report_for(body)
    assert report["ok"] is True
    assert sorted(codes(report["warnings"])) == ["per_request_prefix_variable", "unused_variable"]


def test_body_without_checkpoints_gets_a_warning():
    body = make_body()
    del body["messages"][0]["content"][1]["cache_control"]
    assert codes(report_for(body)["warnings"]) == ["no_checkpoint"]


def test_request_the_provider_cannot_take_is_an_error():
    body = make_body(model="bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0")
    body["messages"][0]["content"][1]["cache_control"] = {"type": "ephemeral"}
    body["messages"][1]["content"] = [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "text", "text": "{{ question }}"},
    ]
    report = report_for(body)
    [error] = report["errors"]
    assert error["code"] == "not_translatable"
    assert "messages[1].content[0]" in error["message"] and "data: URL" in error["message"]


def test_checkpoints_on_a_model_without_prompt_caching_are_errors():
    report = report_for(make_body(), model="bedrock/anthropic.claude-3-haiku-20240307-v1:0")
    assert "too_many_checkpoints" in codes(report["errors"])
    assert "checkpoint_not_cacheable" in codes(report["errors"])


def test_exact_counts_replace_estimates_when_the_provider_counts():
    seen = []

    def count(request):
        seen.append(request)
        return 5000

    report = report_for(make_body(), samples={**SAMPLES, "document": "short"}, count_tokens=count)
    assert report["token_method"] == "exact: sim count-tokens API"
    assert [c["tokens"] for c in report["checkpoints"]] == [5000]
    assert report["checkpoints"][0]["status"] == "will_cache" and report["warnings"] == []
    [prefix] = seen
    assert len(prefix.messages) == 1 and prefix.messages[0].role == "system"


def test_a_failed_exact_count_keeps_the_estimate_and_says_why():
    from gateway.errors import ProviderConnectionError

    def count(request):
        raise ProviderConnectionError("anthropic", "connection refused")

    report = report_for(make_body(), count_tokens=count)
    assert "exact count failed" in report["token_method"]
    assert report["checkpoints"][0]["tokens"] > 1024


def test_model_released_tomorrow_is_a_warning_with_the_providers_defaults():
    report = report_for(make_body(), model="anthropic/claude-opus-6")

    assert report["ok"] is True
    [warning] = [w for w in report["warnings"] if w["code"] == "unknown_model_limits"]
    assert "anthropic/claude-opus-6 is not in the model catalog" in warning["message"]
    assert "minimum 4,096 tokens" in warning["message"]
    assert "CACHET_CATALOG_FILE" in warning["message"]


def test_unknown_model_warning_names_close_matches():
    report = report_for(make_body(), model="anthropic/claude-sonet-4-5")

    [warning] = [w for w in report["warnings"] if w["code"] == "unknown_model_limits"]
    assert "close matches: anthropic/claude-sonnet-4-5" in warning["message"]


def test_global_bedrock_profile_is_known():
    report = report_for(make_body(), model="bedrock/global.anthropic.claude-opus-4-6-v1")

    assert "unknown_model_limits" not in codes(report["warnings"])
    assert report["checkpoints"][0]["min_tokens"] == 4096


def test_retired_model_is_an_error_naming_its_date_and_successor():
    report = report_for(make_body(), model="anthropic/claude-3-7-sonnet-20250219")

    assert report["ok"] is False
    [error] = [e for e in report["errors"] if e["code"] == "retired_model"]
    assert "retired on 2026-02-19" in error["message"]
    assert "move to anthropic/claude-sonnet-4-6" in error["message"]


def test_sampling_param_the_model_rejects_is_an_error_not_a_400():
    body = make_body(model="anthropic/claude-opus-4-8", params={"max_tokens": 256, "top_p": 0.9})

    report = report_for(body)

    [error] = [e for e in report["errors"] if e["code"] == "param_rejected"]
    assert error["path"] == "params.top_p"
    assert "anthropic/claude-opus-4-8 rejects top_p" in error["message"]


def test_the_same_params_are_fine_on_a_model_that_takes_them():
    body = make_body(model="anthropic/claude-sonnet-4-6", params={"max_tokens": 256, "top_p": 0.9})

    assert "param_rejected" not in codes(report_for(body)["errors"])


def test_new_tokenizer_family_estimates_more_tokens_and_says_so():
    body = make_body(params={"max_tokens": 256})  # Sonnet 5 takes no temperature
    old = report_for(body, model="anthropic/claude-sonnet-4-6")
    new = report_for(body, model="anthropic/claude-sonnet-5")

    assert "x1.3 for the claude-2026 tokenizer family" in new["token_method"]
    ratio = new["checkpoints"][0]["tokens"] / old["checkpoints"][0]["tokens"]
    assert 1.29 < ratio < 1.31


def test_bedrock_ttl_order_is_checked_in_the_converse_wire_order():
    from gateway.bedrock.translate import to_converse
    from templates_app.engine.rendering import render
    from tests.fakes.bedrock import cache_blocks

    model = "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0"
    body = make_body(model=model, tools=[make_tool(cache_control={"type": "ephemeral"})])

    [error] = report_for(body)["errors"]
    assert (error["code"], error["path"]) == ("ttl_order", "messages[0].content[1]")
    # On the wire the tools' 5m cachePoint comes first (toolConfig), the 1h one after it in
    # system: the order lint judged is the order Bedrock refuses.
    wire = to_converse(render(compile_body(body), SAMPLES).request)
    assert wire["toolConfig"]["tools"][-1] == {"cachePoint": {"type": "default"}}
    assert wire["system"][-1] == {"cachePoint": {"type": "default", "ttl": "1h"}}
    with pytest.raises(ValueError, match="a 1h cachePoint may not follow a 5m one"):
        cache_blocks(model.partition("/")[2], wire)
