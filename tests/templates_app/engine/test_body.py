"""The body format: validation with paths, structure, newline normalising."""

from __future__ import annotations

import pytest

from templates_app.engine.body import parse_body, to_request
from templates_app.engine.errors import BodyError
from tests.factories import make_body, make_tool


def problems(body: object) -> list[dict[str, str]]:
    with pytest.raises(BodyError) as caught:
        parse_body(body)
    return caught.value.details


def paths(body: object) -> list[str]:
    return [issue["path"] for issue in problems(body)]


def test_valid_body_has_blocks_in_prefix_order_and_numbered_checkpoints():
    body = make_body(tools=[make_tool(cache_control={"type": "ephemeral"})])
    parsed = parse_body(body)
    assert [path for path, _ in parsed.blocks] == [
        "tools[0]",
        "messages[0].content[0]",
        "messages[0].content[1]",
        "messages[1].content",
    ]
    assert [(c.ordinal, c.path, c.section, c.ttl) for c in parsed.checkpoints] == [
        (1, "tools[0]", "tools", None),
        (2, "messages[0].content[1]", "system", "1h"),
    ]
    assert parsed.prefix_end == 2


def test_crlf_and_lone_cr_are_stored_as_lf():
    body = make_body()
    body["messages"][0]["content"][0]["text"] = "line one\r\nline two\rline three\n"
    parsed = parse_body(body)
    assert parsed.data["messages"][0]["content"][0]["text"] == "line one\nline two\nline three\n"


def test_everything_else_is_kept_exactly_as_authored():
    text = "  leading spaces, trailing tabs\t\t\n\n\u00a0non-breaking\u2028separator  "
    body = make_body()
    body["messages"][0]["content"][0]["text"] = text
    assert parse_body(body).data["messages"][0]["content"][0]["text"] == text


def test_body_must_be_an_object():
    assert problems([]) == [{"path": "body", "message": "must be an object, got array"}]


def test_unknown_top_level_key_is_named():
    assert "prompt" in paths(make_body(prompt="hi"))


def test_caching_coalesce_defaults_to_true_and_can_opt_out():
    assert parse_body(make_body()).coalesce is True
    assert parse_body(make_body(caching={"coalesce": False})).coalesce is False
    assert parse_body(make_body(caching={})).coalesce is True


@pytest.mark.parametrize(
    ("caching", "path", "says"),
    [
        ({"coalesce": "no"}, "caching.coalesce", "must be true or false, got string"),
        ({"coalesec": False}, "caching.coalesec", "unknown key (allowed: coalesce)"),
        ([], "caching", "must be an object, got array"),
    ],
)
def test_a_bad_caching_choice_is_named(caching, path, says):
    assert {"path": path, "message": says} in problems(make_body(caching=caching))


def test_every_problem_is_reported_at_once_with_its_path():
    body = make_body(model="no-provider", params={"temperature": 3, "colour": 1})
    body["messages"][1]["content"] = [{"type": "text", "text": 5}]
    assert paths(body) == [
        "model",
        "params.temperature",
        "params.colour",
        "messages[1].content[0].text",
    ]


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (lambda b: b.update(messages=[]), "messages", "at least one"),
        (lambda b: b["messages"][1].update(role="robot"), "messages[1].role", "one of"),
        (
            lambda b: b["messages"].append({"role": "system", "content": "late"}),
            "messages[2].role",
            "before every other message",
        ),
        (lambda b: b["messages"][1].update(content=None), "messages[1].content", "required"),
        (lambda b: b["messages"][1].update(content=[]), "messages[1].content", "empty"),
        (
            lambda b: b["messages"][1].update(content=[{"type": "audio"}]),
            "messages[1].content[0].type",
            "unsupported part type",
        ),
        (
            lambda b: b["messages"][0]["content"][1].update(cache_control={"type": "persistent"}),
            "messages[0].content[1].cache_control.type",
            "ephemeral",
        ),
        (
            lambda b: b["messages"][0]["content"][1].update(
                cache_control={"type": "ephemeral", "ttl": "2h"}
            ),
            "messages[0].content[1].cache_control.ttl",
            "5m",
        ),
        (
            lambda b: b["messages"][0].update(cache_control={"type": "ephemeral"}),
            "messages[0].cache_control",
            "given twice",
        ),
        (
            lambda b: b["messages"][1].update(tool_call_id="x"),
            "messages[1].tool_call_id",
            "unknown key",
        ),
        (
            lambda b: b["variables"].update({"2fast": {"type": "string"}}),
            "variables.2fast",
            "letters",
        ),
        (lambda b: b["variables"].update(loop={"type": "string"}), "variables.loop", "reserved"),
        (lambda b: b["variables"]["words"].update(type="int"), "variables.words.type", "one of"),
        (
            lambda b: b["variables"]["words"].update(default="twenty"),
            "variables.words.default",
            "integer",
        ),
        (
            lambda b: b["variables"]["words"].update(enum=[10, 20], default=30),
            "variables.words.default",
            "enum",
        ),
        (
            lambda b: b["variables"]["words"].update(max_length=5),
            "variables.words.max_length",
            "string and array",
        ),
        (lambda b: b["params"].update(stop=[1]), "params.stop[0]", "string"),
        (lambda b: b["params"].update(tool_choice="always"), "params.tool_choice", "auto"),
        (lambda b: b["params"].update(max_tokens=0), "params.max_tokens", "at least 1"),
        (lambda b: b["params"].update(max_tokens=True), "params.max_tokens", "integer"),
        (lambda b: b["messages"][1].update(content="nul \x00 here"), "messages[1].content", "NUL"),
    ],
)
def test_bad_body_names_the_path(mutate, path, fragment):
    body = make_body()
    mutate(body)
    issues = problems(body)
    assert path in [issue["path"] for issue in issues]
    message = next(issue["message"] for issue in issues if issue["path"] == path)
    assert fragment in message


def test_tool_problems_name_the_tool_path():
    tool = make_tool()
    tool["function"]["name"] = "has spaces"
    duplicate = make_tool("lookup_order")
    assert paths(make_body(tools=[make_tool("lookup_order"), duplicate, tool, {"type": "x"}])) == [
        "tools[1].function.name",
        "tools[2].function.name",
        "tools[3].type",
        "tools[3].function",
    ]


def test_function_cache_control_is_the_same_as_tool_cache_control():
    tool = make_tool()
    tool["function"]["cache_control"] = {"type": "ephemeral"}
    parsed = parse_body(make_body(tools=[tool]))
    assert parsed.checkpoints[0].path == "tools[0]"
    assert to_request(parsed.data, model=parsed.model).tools[0].cache_control is not None


def test_marker_on_both_tool_and_function_is_refused():
    tool = make_tool(cache_control={"type": "ephemeral"})
    tool["function"]["cache_control"] = {"type": "ephemeral"}
    assert paths(make_body(tools=[tool])) == ["tools[0]"]


def test_assistant_tool_calls_need_valid_json_arguments():
    body = make_body()
    body["messages"].insert(
        2,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": "{not json"},
                }
            ],
        },
    )
    assert paths(body) == ["messages[2].tool_calls[0].function.arguments"]


def test_tool_turns_and_images_pass_through_and_may_carry_checkpoints():
    body = make_body()
    body["messages"][1:] = [
        {
            "role": "user",
            "content": [
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
                    "cache_control": {"type": "ephemeral"},
                },
                {"type": "text", "text": "What is this order?"},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order_id": "A-1"}'},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": "shipped",
            "cache_control": {"type": "ephemeral"},
        },
    ]
    parsed = parse_body(body)
    assert [c.path for c in parsed.checkpoints] == [
        "messages[0].content[1]",
        "messages[1].content[0]",
        "messages[3].content",
    ]
    request = to_request(parsed.data, model=parsed.model)
    assert request.messages[2].tool_calls[0].arguments == '{"order_id": "A-1"}'
    assert request.messages[3].tool_call_id == "call_1"
    assert request.messages[1].content[0].data == {"url": "data:image/png;base64,iVBORw0KGgo="}


def test_jinja_fields_are_message_text_image_urls_and_tool_descriptions():
    body = make_body(tools=[make_tool()])
    body["messages"][1]["content"] = [
        {"type": "image_url", "image_url": {"url": "{{ image }}"}},
        {"type": "text", "text": "{{ question }}"},
    ]
    assert [f.path for f in parse_body(body).fields] == [
        "tools[0].function.description",
        "messages[0].content[0].text",
        "messages[0].content[1].text",
        "messages[1].content[0].image_url.url",
        "messages[1].content[1].text",
    ]


def test_required_defaults_to_true_without_a_default():
    parsed = parse_body(make_body())
    assert parsed.variables["document"].required is True
    assert parsed.variables["words"].required is False
    assert parsed.variables["words"].default == 20


def list_message_with_marker(**part_marker) -> dict:
    body = make_body()
    system = body["messages"][0]
    del system["content"][1]["cache_control"]
    system["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    system["content"][1].update(part_marker)
    return body


def test_a_message_level_marker_on_list_content_closes_its_last_part():
    parsed = parse_body(list_message_with_marker())

    [checkpoint] = parsed.checkpoints
    assert (checkpoint.path, checkpoint.ttl) == ("messages[0].content[1]", "1h")
    request = to_request(parsed.data, model="anthropic/claude-sonnet-4-5")
    assert request.messages[0].cache_control is None
    assert request.messages[0].content[1].cache_control.ttl == "1h"


def test_it_is_the_same_request_and_fingerprint_as_the_marker_on_the_part():
    from templates_app.engine.rendering import compile_body, render

    values = {"document": "Doc " * 50, "question": "Q?"}
    on_message = render(compile_body(list_message_with_marker()), values)
    on_part = render(compile_body(make_body()), values)

    assert on_message.request == on_part.request
    assert on_message.checkpoints[0].fingerprint == on_part.checkpoints[0].fingerprint


def test_a_marker_on_both_the_message_and_its_last_part_is_refused():
    with pytest.raises(BodyError) as caught:
        parse_body(list_message_with_marker(cache_control={"type": "ephemeral"}))

    [issue] = caught.value.details
    assert issue["path"] == "messages[0].cache_control"
    assert "given twice" in issue["message"]


def test_an_empty_ttl_is_refused_and_a_null_one_never_reaches_the_wire():
    from gateway.bedrock.translate import to_converse

    empty = make_body()
    empty["messages"][0]["content"][1]["cache_control"]["ttl"] = ""
    with pytest.raises(BodyError, match="ttl: must be"):
        parse_body(empty)

    null = make_body(model="bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0")
    null["messages"][0]["content"][1]["cache_control"]["ttl"] = None
    parsed = parse_body(null)
    request = to_request(parsed.data, model=null["model"])
    assert to_converse(request)["system"][-1] == {"cachePoint": {"type": "default"}}
