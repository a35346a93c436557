"""Canonical JSON, newline normalising, fingerprints."""

from __future__ import annotations

from gateway.types import ChatRequest, Message, Part
from gateway.wire import compact_json
from templates_app.engine.canonical import (
    fingerprints,
    normalize_newlines,
    sort_keys_deep,
    text_problem,
)


def test_compact_json_keeps_key_order_and_non_ascii():
    assert compact_json({"b": 1, "a": "é\u2028"}) == '{"b":1,"a":"é\u2028"}'


def test_newlines_are_normalised_in_strings_and_keys_at_any_depth():
    value = {"k\r\n": ["a\r\nb", {"c": "d\re"}], "n": 1}
    assert normalize_newlines(value) == {"k\n": ["a\nb", {"c": "d\ne"}], "n": 1}


def test_sort_keys_deep_sorts_every_object():
    assert list(sort_keys_deep({"b": {"z": 1, "y": 2}, "a": [{"d": 1, "c": 2}]})) == ["a", "b"]
    assert list(sort_keys_deep({"b": {"z": 1, "y": 2}})["b"]) == ["y", "z"]


def test_text_problem_finds_nul_and_lone_surrogates_anywhere_with_their_path():
    assert text_problem({"a": ["x", {"b": "\x00"}]}) == (
        "a[1].b",
        "contains a NUL character (\\u0000)",
    )
    assert text_problem({"k\ud800": 1})[0] == "k\ud800"
    assert "unpaired surrogate" in text_problem(["ok", "\udfff"])[1]
    assert text_problem({"a": ["\\u0000", "😀", "\U0001f600"]}) is None


def _request(*messages: Message) -> ChatRequest:
    return ChatRequest(model="sim/claude-sonnet-4-5", messages=messages)


def test_one_message_with_two_parts_differs_from_two_messages():
    one = _request(Message("user", (Part("text", text="A"), Part("text", text="B"))))
    two = _request(
        Message("user", (Part("text", text="A"),)), Message("user", (Part("text", text="B"),))
    )
    first = fingerprints(one, ["messages[0].content[1]"])["messages[0].content[1]"]
    second = fingerprints(two, ["messages[1].content[0]"])["messages[1].content[0]"]
    assert first != second


def test_role_is_part_of_the_prefix():
    user = _request(Message("user", "hi"))
    assistant = _request(Message("assistant", "hi"))
    path = ["messages[0].content"]
    assert fingerprints(user, path) != fingerprints(assistant, path)


def test_text_split_differently_across_parts_gives_another_fingerprint():
    a = _request(Message("user", (Part("text", text="ab"), Part("text", text="c"))))
    b = _request(Message("user", (Part("text", text="a"), Part("text", text="bc"))))
    path = ["messages[0].content[1]"]
    assert fingerprints(a, path) != fingerprints(b, path)
