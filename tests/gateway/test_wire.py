from __future__ import annotations

import math
from types import MappingProxyType

import pytest

from gateway.types import Part, ToolCall
from gateway.wire import dumps, image_url, parse_data_url, plain, tool_input


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
