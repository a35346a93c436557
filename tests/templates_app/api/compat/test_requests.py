"""Provider-shaped request bodies -> what Cachet sends: the template, its variables, the
caller's conversation as canonical messages, and the params it overrides."""

from __future__ import annotations

import re

import pytest

from gateway.types import CacheControl, Message, Part, ToolCall
from templates_app.api.compat.requests import (
    CompatRequestError,
    chat_request,
    messages_request,
    responses_request,
)
from templates_app.engine.errors import BodyError

PROMPT = {"id": "doc-qa", "variables": {"question": "Uptime?"}}


def test_a_chat_request_names_the_template_and_continues_it():
    compat = chat_request(
        {
            "model": "default",
            "prompt": {**PROMPT, "label": "staging"},
            "messages": [
                {"role": "developer", "content": "Be terse."},
                {"role": "user", "content": "Hello {{ not_rendered }}"},
            ],
            "max_completion_tokens": 99,
            "temperature": 0.5,
            "stream": True,
            "stream_options": {"include_usage": True},
            "user": "u-42",
        }
    )

    assert (compat.slug, compat.label, compat.version, compat.model) == (
        "doc-qa",
        "staging",
        None,
        None,
    )
    assert compat.variables == {"question": "Uptime?"}
    assert compat.conversation == (
        Message("system", "Be terse."),
        Message("user", "Hello {{ not_rendered }}"),  # the caller's text is never rendered
    )
    assert compat.params == {"max_tokens": 99, "temperature": 0.5}
    assert compat.stream and compat.include_usage
    assert compat.metadata == {"user": "u-42"}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("default", None),
        ("", None),
        (None, None),
        ("gpt-4o", "openai/gpt-4o"),
        ("anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"),
    ],
)
def test_model_overrides_unless_empty_or_default_and_a_bare_id_is_the_sdks_provider(
    model, expected
):
    assert chat_request({"model": model, "prompt": PROMPT}).model == expected
    if expected and "/" not in (model or ""):
        assert (
            messages_request({"model": "claude-opus-5", "prompt": PROMPT, "max_tokens": 1}).model
            == "anthropic/claude-opus-5"
        )


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        ({"prompt": PROMPT, "lable": "x"}, "'lable' (not supported)", "lable"),
        (
            {"prompt": PROMPT, "temperatur": 1},
            "'temperatur' (did you mean 'temperature'?)",
            "temperatur",
        ),
        ({"prompt": PROMPT, "tools": []}, "'tools' (tools come from the template)", "tools"),
        ({"prompt": PROMPT, "n": 2}, "n must be 1", "n"),
        ({"prompt": PROMPT, "stream": "yes"}, "stream must be true or false", "stream"),
        ({}, 'name the template: "prompt"', "prompt"),
        ({"prompt": {"id": ""}}, "prompt.id must be the template's slug or alias", "prompt.id"),
        ({"prompt": {"id": "a", "version": 2, "label": "b"}}, "not both", "prompt"),
        (
            {"prompt": {"id": "a", "lable": "b"}},
            "'prompt.lable' (did you mean 'prompt.label'?)",
            "prompt.lable",
        ),
        (
            {"prompt": {"id": "a", "version": True}},
            "prompt.version must be a version number",
            "prompt.version",
        ),
    ],
)
def test_what_cannot_be_served_is_a_400_naming_the_field(body, message, param):
    with pytest.raises(CompatRequestError) as caught:
        chat_request(body)

    assert message in caught.value.message
    assert caught.value.param == param


def test_bad_params_and_messages_are_reported_with_their_paths():
    with pytest.raises(BodyError, match="params.temperature: must be between 0 and 2"):
        chat_request({"prompt": PROMPT, "temperature": 7})
    with pytest.raises(BodyError, match=r"messages\[0\].role: must be one of"):
        chat_request({"prompt": PROMPT, "messages": [{"role": "robot", "content": "hi"}]})


def test_a_system_message_after_the_conversation_is_refused():
    with pytest.raises(BodyError, match=r"messages\[1\].role: system messages must come before"):
        chat_request(
            {
                "prompt": PROMPT,
                "messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}],
            }
        )


def test_responses_input_items_become_messages_and_tool_turns():
    compat = responses_request(
        {
            "prompt": {
                "id": "pmpt_abc",
                "version": "3",
                "variables": {"q": {"type": "input_text", "text": "Uptime?"}},
            },
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "Look 7 up."}]},
                {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
                {"type": "function_call", "call_id": "c2", "name": "lookup", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "up"},
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Done."}],
                },
                {
                    "role": "user",
                    "content": [{"type": "input_image", "image_url": "https://x/y.png"}],
                },
            ],
            "max_output_tokens": 50,
            "tool_choice": {"type": "function", "name": "lookup"},
            "store": False,
        }
    )

    assert (compat.slug, compat.version, compat.variables) == ("pmpt_abc", 3, {"q": "Uptime?"})
    user, calls, output, answer, image = compat.conversation
    assert user == Message("user", (Part("text", text="Look 7 up."),))
    assert calls.tool_calls == (ToolCall("c1", "lookup", "{}"), ToolCall("c2", "lookup", "{}"))
    assert output == Message("tool", "up", tool_call_id="c1")
    assert answer == Message("assistant", (Part("text", text="Done."),))
    assert image.content[0].data == {"url": "https://x/y.png"}
    assert compat.params == {
        "max_tokens": 50,
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
    }


def test_a_responses_string_input_is_one_user_message():
    assert responses_request({"prompt": PROMPT, "input": "Hi"}).conversation == (
        Message("user", "Hi"),
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instructions": "x"}, "instructions come from the template"),
        ({"previous_response_id": "resp_1"}, "Cachet keeps no conversation state"),
        ({"input": [{"type": "reasoning"}]}, "items of type 'reasoning' are not supported"),
        (
            {"prompt": {"id": "a", "variables": {"img": {"type": "input_image"}}}},
            "image and file variables",
        ),
    ],
)
def test_responses_fields_cachet_cannot_serve_are_refused(body, message):
    with pytest.raises(CompatRequestError, match=re.escape(message)):
        responses_request({"prompt": PROMPT, **body})


def test_anthropic_blocks_become_parts_tool_calls_and_tool_messages_with_their_markers():
    marker = {"type": "ephemeral", "ttl": "1h"}
    compat = messages_request(
        {
            "prompt": PROMPT,
            "max_tokens": 64,
            "system": [{"type": "text", "text": "Answer in French.", "cache_control": marker}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/png",
                                "data": "iVBOR",
                            },
                        },
                        {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"id": 7}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "up"},
                        {"type": "text", "text": "And?"},
                    ],
                },
            ],
            "stop_sequences": ["END"],
            "top_k": 5,
            "tool_choice": {"type": "any"},
            "metadata": {"user_id": "u-1"},
        }
    )

    system, user, assistant, result, follow_up = compat.conversation
    assert system == Message(
        "system", (Part("text", text="Answer in French.", cache_control=CacheControl("1h")),)
    )
    assert user.content[0].data == {"url": "data:image/png;base64,iVBOR"}
    assert user.content[1] == Part("file", data={"url": "https://x/a.pdf"})
    assert assistant.tool_calls == (ToolCall("t1", "lookup", '{"id": 7}'),)
    assert result == Message("tool", "up", tool_call_id="t1")
    assert follow_up == Message("user", (Part("text", text="And?"),))
    assert compat.params == {
        "max_tokens": 64,
        "top_k": 5,
        "stop": ["END"],
        "tool_choice": "required",
    }
    assert compat.metadata == {"user_id": "u-1"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "max_tokens: Field required"),
        ({"max_tokens": 5, "thinking": {"type": "enabled"}}, "'thinking' (not supported)"),
        ({"max_tokens": 5, "tool_choice": {"type": "maybe"}}, "tool_choice.type must be"),
        (
            {
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "search_result"}]}],
            },
            "blocks of type 'search_result'",
        ),
    ],
)
def test_anthropic_fields_cachet_cannot_serve_are_refused(body, message):
    with pytest.raises(CompatRequestError, match=re.escape(message)):
        messages_request({"prompt": PROMPT, **body})


def test_an_assistant_message_echoed_from_a_completion_is_accepted():
    echoed = {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "annotations": [],
        "audio": None,
        "function_call": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    }

    compat = chat_request({"prompt": PROMPT, "messages": [echoed]})

    assert compat.conversation[0].tool_calls == (ToolCall("c1", "f", "{}"),)


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        ({"metadata": {"k": "a\u0000"}}, "metadata: ", "metadata"),
        ({"metadata": {"k": "x" * 17_000}}, "metadata: must be at most 16 KB", "metadata"),
        ({"user": "a\u0000"}, "metadata: ", "metadata"),
        ({"user": 7}, "user must be a string", "user"),
        ({"model": "openai/" + "x" * 400}, "model: ", "model"),
        ({"prompt": {"id": "doc\u0000qa"}}, "prompt.id must be", "prompt.id"),
        ({"prompt": {"id": "doc-qa", "label": "not a label!"}}, "prompt.label: ", "prompt.label"),
        (
            {"prompt": {"id": "doc-qa", "variables": {"q": "a\u0000"}}},
            "prompt.variables: ",
            "prompt.variables",
        ),
        ({"messages": 5}, "messages must be a list", "messages"),
        ({"messages": "hello"}, "messages must be a list", "messages"),
    ],
)
def test_what_the_send_itself_refuses_is_a_400_before_anything_is_sent(body, message, param):
    with pytest.raises(CompatRequestError) as caught:
        chat_request({"prompt": PROMPT, **body})

    assert caught.value.message.startswith(message) or message in caught.value.message
    assert caught.value.param == param


def test_a_tool_choice_without_a_function_object_is_a_400_not_a_crash():
    with pytest.raises(BodyError, match="params.tool_choice: must be"):
        chat_request({"prompt": PROMPT, "tool_choice": {"type": "function", "function": None}})


def test_explicit_nulls_are_absent_fields():
    compat = chat_request(
        {
            "prompt": {**PROMPT, "variables": None},
            "stream": None,
            "metadata": None,
            "n": None,
            "max_tokens": 30,
            "max_completion_tokens": None,
        }
    )

    assert (compat.stream, compat.metadata, compat.variables) == (False, None, {})
    assert compat.params == {"max_tokens": 30}


def test_a_plain_text_document_is_its_text_and_other_sources_are_refused():
    text = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "hello"},
    }
    compat = messages_request(
        {"prompt": PROMPT, "max_tokens": 5, "messages": [{"role": "user", "content": [text]}]}
    )

    assert compat.conversation[0].content == (Part("text", text="hello"),)
    content = {"type": "document", "source": {"type": "content", "content": []}}
    with pytest.raises(CompatRequestError, match="sources of type 'content' are not supported"):
        messages_request(
            {
                "prompt": PROMPT,
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [content]}],
            }
        )


def test_an_empty_text_block_beside_tool_calls_is_dropped():
    turn = {
        "role": "assistant",
        "content": [
            {"type": "text", "text": ""},
            {"type": "tool_use", "id": "t1", "name": "f", "input": {}},
        ],
    }

    (message,) = messages_request(
        {"prompt": PROMPT, "max_tokens": 5, "messages": [turn]}
    ).conversation

    assert message.content is None and message.tool_calls == (ToolCall("t1", "f", "{}"),)
