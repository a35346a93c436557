"""OpenAI-style file parts (PDFs): accepted, checkpointed, and translated for each provider."""

from __future__ import annotations

import copy

import pytest

from gateway.anthropic.translate import to_anthropic
from gateway.bedrock.translate import to_converse
from gateway.openai.translate import to_openai
from templates_app.engine.body import parse_body
from templates_app.engine.errors import BodyError
from templates_app.engine.lint import lint
from templates_app.engine.rendering import compile_body, render

PDF = "data:application/pdf;base64,JVBERi0xLjQK"
BODY = {
    "model": "anthropic/claude-sonnet-4-5",
    "variables": {"contract": {"type": "string"}, "q": {"type": "string"}},
    "messages": [
        {
            "role": "user",
            "content": [
                {
                    "type": "file",
                    "file": {"file_data": "{{ contract }}", "filename": "Lease 2026 (v2).pdf"},
                    "cache_control": {"type": "ephemeral", "ttl": "1h"},
                },
                {"type": "text", "text": "{{ q }}"},
            ],
        }
    ],
}


def request_for(model: str, **file):
    body = copy.deepcopy(BODY)
    body["model"] = model
    body["messages"][0]["content"][0]["file"].update(file)
    return render(compile_body(body), {"contract": PDF, "q": "When does it end?"}).request


def test_a_file_part_is_a_checkpointable_block_whose_data_is_templated():
    parsed = parse_body(BODY)

    assert [c.path for c in parsed.checkpoints] == ["messages[0].content[0]"]
    assert "messages[0].content[0].file.file_data" in {f.path for f in parsed.fields}
    result = render(compile_body(BODY), {"contract": PDF, "q": "Q?"})
    assert result.prefix_variables == ("contract",)


def test_anthropic_gets_a_base64_document_block_with_the_marker():
    block = to_anthropic(request_for("anthropic/claude-sonnet-4-5"))["messages"][0]["content"][0]

    assert block == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"},
        "title": "Lease 2026 (v2).pdf",
        "cache_control": {"type": "ephemeral", "ttl": "1h"},
    }


def test_anthropic_takes_a_document_by_url():
    body = copy.deepcopy(BODY)
    body["messages"][0]["content"][0]["file"] = {"url": "https://example.com/lease.pdf"}
    request = render(compile_body(body), {"contract": "", "q": "Q?"}).request

    block = to_anthropic(request)["messages"][0]["content"][0]

    assert block["source"] == {"type": "url", "url": "https://example.com/lease.pdf"}


def test_bedrock_gets_a_document_block_then_its_cache_point():
    content = to_converse(request_for("bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0"))[
        "messages"
    ][0]["content"]

    assert content[0] == {
        "document": {
            "format": "pdf",
            "name": "Lease 2026 (v2)",
            "source": {"bytes": "JVBERi0xLjQK"},
        }
    }
    assert content[1] == {"cachePoint": {"type": "default", "ttl": "1h"}}


def test_openai_gets_the_file_part_as_authored():
    part = to_openai(request_for("openai/gpt-4o"))["messages"][0]["content"][0]

    assert part == {"type": "file", "file": {"file_data": PDF, "filename": "Lease 2026 (v2).pdf"}}


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ({}, "give exactly one of file_data"),
        ({"file_data": PDF, "file_id": "file-1"}, "give exactly one of file_data"),
        ({"file_data": PDF, "size": 3}, "unknown key for a file"),
        ({"file_id": 7}, "a string"),
    ],
)
def test_a_bad_file_part_is_named(file, message):
    body = copy.deepcopy(BODY)
    body["messages"][0]["content"][0]["file"] = file

    with pytest.raises(BodyError) as caught:
        parse_body(body)

    assert message in str(caught.value.details)
    assert "messages[0].content[0].file" in str(caught.value.details)


def test_a_provider_that_cannot_take_the_source_is_a_lint_error():
    body = copy.deepcopy(BODY)
    body["model"] = "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0"
    body["messages"][0]["content"][0]["file"] = {"file_id": "file-abc"}

    report = lint(compile_body(body), sample_variables={"contract": "", "q": "Q?"})

    [error] = [e for e in report["errors"] if e["code"] == "not_translatable"]
    assert "Converse needs the document's bytes" in error["message"]


@pytest.mark.parametrize(
    ("model", "fixture", "translate"),
    [
        ("anthropic/claude-sonnet-4-5", "anthropic/document_checkpoint.json", to_anthropic),
        (
            "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
            "bedrock/document_checkpoint.json",
            to_converse,
        ),
    ],
)
def test_the_whole_wire_matches_the_recorded_payload(model, fixture, translate):
    from tests.gateway import samples

    assert translate(request_for(model)) == samples.load(fixture)
