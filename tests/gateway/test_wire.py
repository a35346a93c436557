from __future__ import annotations

import json
import math
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.types import Part, ToolCall
from gateway.wire import compact_json, dumps, image_url, parse_data_url, plain, tool_input


def test_dumps_is_compact_utf8():
    assert dumps({"text": "café 東京", "n": [1, 2]}) == '{"text":"café 東京","n":[1,2]}'.encode()


def test_dumps_keeps_insertion_order_and_never_sorts_keys():
    assert dumps({"zeta": 1, "alpha": {"y": 2, "b": 3}}) == b'{"zeta":1,"alpha":{"y":2,"b":3}}'


def test_dumps_rejects_nan():
    with pytest.raises(ValueError):
        dumps({"temperature": math.nan})


def test_plain_turns_read_only_mappings_and_tuples_into_json_types():
    frozen = MappingProxyType({"b": (1, MappingProxyType({"a": 2})), "a": 3})

    assert dumps(plain(frozen)) == b'{"b":[1,{"a":2}],"a":3}'


def test_parse_data_url_splits_media_type_and_data():
    assert parse_data_url("data:image/png;base64,iVBORw0KGgo=") == ("image/png", "iVBORw0KGgo=")
    assert parse_data_url("https://example.com/a.png") is None


def test_data_url_without_base64_is_rejected():
    with pytest.raises(ValueError, match="base64"):
        parse_data_url("data:image/svg+xml,<svg/>")


def test_image_url_reads_the_authored_url():
    part = Part("image_url", data={"url": "https://x/a.png", "detail": "low"})

    assert image_url(part) == "https://x/a.png"


def test_image_url_without_url_is_rejected():
    with pytest.raises(ValueError, match="no url"):
        image_url(Part("image_url", data={"detail": "low"}))


def test_tool_input_keeps_key_order():
    assert list(tool_input(ToolCall("c1", "f", '{"z": 1, "a": 2}'))) == ["z", "a"]


def test_tool_input_must_be_an_object():
    with pytest.raises(ValueError, match="'c2'.*object"):
        tool_input(ToolCall("c2", "f", "[1, 2]"))


# Every JSON value, and a few that JSON has no room for (NaN, huge integers, lone
# surrogates, non-string keys): orjson writes some of them differently or not at all.
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(), max_size=40)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=5)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=8), children, max_size=5)
        | st.dictionaries(st.integers(0, 9), children, max_size=2)
    ),
    max_leaves=30,
)


def _stdlib_text(value):
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError) as exc:
        return type(exc)


def _text(value):
    try:
        return compact_json(value)
    except (ValueError, TypeError) as exc:
        return type(exc)


@settings(max_examples=500, deadline=None)
@given(JSON_VALUES)
def test_compact_json_is_the_standard_librarys_text_for_every_value(value):
    assert _text(value) == _stdlib_text(value)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_wire_bytes_are_compact_json_in_utf8(value):
    expected = _stdlib_text(value)
    if isinstance(expected, str):
        try:
            expected = expected.encode()
        except UnicodeEncodeError as exc:
            expected = type(exc)
    try:
        got = dumps(value)
    except (ValueError, TypeError) as exc:  # UnicodeEncodeError is a ValueError
        got = type(exc)
    assert got == expected


@pytest.mark.parametrize(
    "value",
    [1e-05, 2.5e-07, float("nan"), 2**64, {1: "a"}, "\ud800", [[[[]]]] * 3],
    ids=["small-float", "tiny-float", "nan", "big-int", "int-key", "surrogate", "nested"],
)
def test_values_orjson_writes_otherwise_still_get_the_standard_text(value):
    assert _text(value) == _stdlib_text(value)


def test_types_json_lacks_are_refused_as_before():
    import dataclasses
    import datetime

    @dataclasses.dataclass
    class Point:
        x: int

    for value in (Point(1), datetime.date(2026, 1, 1), {1, 2}):
        with pytest.raises(TypeError):
            compact_json(value)
