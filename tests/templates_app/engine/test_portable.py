"""Template files (engine/portable.py): written stably, read back exactly, with lines."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.wire import compact_json
from templates_app.engine.portable import TemplateFileError, dumps, loads, ordered
from tests.factories import FULL_MESSAGES, FULL_TOOLS_AND_SYSTEM, make_body


def a_file(*bodies: dict, **fields) -> dict:
    return {
        "slug": "doc-qa",
        "name": "Document Q&A",
        "versions": [
            {"number": n, "message": f"v{n}", "body": body} for n, body in enumerate(bodies, 1)
        ],
        **fields,
    }


# JSON values as a body may hold them: every string (line breaks, tabs, quotes, YAML's
# special words, Unicode, lone surrogates aside), integers of any size, finite floats.
strings = st.text(st.characters(exclude_categories=("Cs",)), max_size=40) | st.sampled_from(
    [
        "yes",
        "no",
        "on",
        "off",
        "null",
        "~",
        "2026-12-04",
        "1e3",
        "0777",
        "0x1F",
        "- a",
        "a: b",
        "#x",
        "| x",
        "  lead",
        "trail  \nnext",
        "\n\nblank\n\n",
        "\t tab",
        "'q'",
        '"dq"',
        "ł\u2028",
    ]
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | strings,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(strings, children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, fmt=st.sampled_from(["yaml", "json"]))
def test_every_json_value_reads_back_as_the_same_json_text(value, fmt):
    file = a_file({"model": "sim/claude-sonnet-4-5", "anything": value})
    source = f"t.{fmt}"
    back = loads(dumps(file, fmt=fmt), source=source).data
    assert compact_json(back) == compact_json(ordered(file))  # same keys, order, types, text


@settings(max_examples=100, deadline=None)
@given(text=strings)
def test_any_prompt_text_reads_back_exactly(text):
    body = make_body()
    body["messages"][0]["content"][0]["text"] = text
    written = dumps(a_file(body))
    back = loads(written, source="t.yaml").data
    assert back["versions"][0]["body"]["messages"][0]["content"][0]["text"] == text


def test_every_feature_of_the_body_format_round_trips_byte_for_byte():
    file = a_file(FULL_TOOLS_AND_SYSTEM, FULL_MESSAGES, labels={"production": 2})
    for fmt in ("yaml", "json"):
        written = dumps(file, fmt=fmt)
        back = loads(written, source=f"t.{fmt}").data
        assert [compact_json(v["body"]) for v in back["versions"]] == [
            compact_json(FULL_TOOLS_AND_SYSTEM),
            compact_json(FULL_MESSAGES),
        ]
        assert dumps(back, fmt=fmt) == written  # stable: writing what was read changes nothing


def test_prompt_text_is_a_readable_block_and_keys_come_in_the_file_order():
    body = make_body()
    body["messages"][0]["content"][0]["text"] = "You answer from the document.\nQuote it."
    file = {"labels": {"production": 1}, "versions": a_file(body)["versions"], "slug": "doc-qa"}
    written = dumps(file)
    assert written.startswith("slug: doc-qa\nversions:\n")
    assert written.endswith("labels:\n  production: 1\n")
    assert "text: |-\n" in written
    assert "                You answer from the document.\n                Quote it.\n" in written
    assert "\\n" not in written.split("labels:")[0].split("text: |-")[1].split("- type")[0]


def test_only_json_spellings_are_numbers_booleans_and_null():
    text = """slug: t
versions:
  - body:
      values: [10:30, 1_000, 0x1F, .inf, .nan, yes, True, 007, +1, 1e3, -0.5, 12, null, ~]
"""
    values = loads(text, source="t.yaml").data["versions"][0]["body"]["values"]
    assert values == [
        *("10:30", "1_000", "0x1F", ".inf", ".nan", "yes", "True", "007", "+1"),
        *(1000.0, -0.5, 12, None, None),
    ]
    # What reads as a number is written quoted when it is a string, and back it comes.
    strings = ["1e3", "12", "-0.5", "true", "null", "~", "", "10:30"]
    file = a_file({"model": "sim/claude-sonnet-4-5", "values": strings})
    assert loads(dumps(file), source="t.yaml").data["versions"][0]["body"]["values"] == strings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "slug: t\nslug: u\nversions: []\n",
            "t.yaml:2: key 'slug' is given twice (first on line 1)",
        ),
        ("slug: t\nversions: [{body: {}}]\nlabels: {1: 1}\n", "t.yaml:3: key 1 is not a string"),
    ],
)
def test_a_key_twice_or_a_key_that_is_no_string_is_an_error(text, expected):
    with pytest.raises(TemplateFileError) as raised:
        loads(text, source="t.yaml")
    assert raised.value.message.startswith(expected), raised.value.message


def test_a_json_key_twice_is_an_error():
    with pytest.raises(TemplateFileError, match="t.json: key 'slug' is given twice"):
        loads('{"slug": "t", "slug": "u", "versions": []}', source="t.json")


def test_slugs_aliases_and_labels_are_checked_with_their_line():
    base = "slug: t\nversions: [{body: {}}]\n"
    cases = {
        "slug: ../x\nversions: [{body: {}}]\n": "t.yaml:1: slug: '../x' is not a slug",
        base + "aliases: [t]\n": "t.yaml:3: aliases[0]: a template's alias cannot be its own slug",
        base + "aliases: [a b]\n": "t.yaml:3: aliases[0]: not an alias",
        base + "labels: {Prod: 1}\n": "t.yaml:3: labels.Prod: ",
    }
    for text, expected in cases.items():
        with pytest.raises(TemplateFileError) as raised:
            loads(text, source="t.yaml")
        assert raised.value.message.startswith(expected), raised.value.message


def test_yaml_is_read_as_json_data_no_yes_booleans_or_dates():
    text = """slug: t
versions:
  - body:
      model: sim/claude-sonnet-4-5
      variables:
        tone: {type: string, enum: [yes, no, on, off], default: 2026-12-04}
        flag: {type: boolean, default: true}
      messages:
        - {role: user, content: "{{ tone }}"}
"""
    variables = loads(text, source="t.yaml").data["versions"][0]["body"]["variables"]
    assert variables["tone"] == {
        "type": "string",
        "enum": ["yes", "no", "on", "off"],
        "default": "2026-12-04",
    }
    assert variables["flag"]["default"] is True


def test_a_value_is_placed_at_its_line_and_a_block_texts_lines_after_it():
    text = """slug: t
versions:
  - number: 1
    body:
      model: sim/claude-sonnet-4-5
      messages:
        - role: system
          content:
            - type: text
              text: |-
                first line
                second {{ line }}
"""
    file = loads(text, source="dir/t.yaml")
    path = "versions[0].body.messages[0].content[0].text"
    assert file.line(path) == 10
    assert file.where(path, 2) == "dir/t.yaml:12"
    assert file.where("versions[0].body.messages[0].content[0].cache_control") == "dir/t.yaml:9"
    assert file.where("versions[0].body.model") == "dir/t.yaml:5"


def test_a_json_file_is_placed_too():
    file = a_file(make_body())
    text = dumps(file, fmt="json")
    placed = loads(text, source="t.json")
    line = placed.line("versions[0].body.model")
    assert text.splitlines()[line - 1].strip().startswith('"model"')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "t.yaml: the file: a template file holds one mapping"),
        ("slug: t\n", "t.yaml: the file: 'versions' is missing"),
        ("slug: t\nversions: []\n", "t.yaml:2: versions: a template file holds at least one"),
        ("slug: t\nversion: []\n", "t.yaml:2: version: unknown key"),
        ("slug: 3\nversions: [{body: {}}]\n", "t.yaml:1: slug: must be a string"),
        ("slug: t\nversions:\n  - {bdy: {}}\n", "t.yaml:3: versions[0].bdy: unknown key"),
        ("slug: t\nversions:\n  - {message: m}\n", "t.yaml:3: versions[0]: 'body' is missing"),
        (
            "slug: t\nversions:\n  - {body: {}}\n  - {number: 1, body: {}}\n",
            "t.yaml:4: versions[1].number: version 1 is in the file twice",
        ),
        (
            "slug: t\nversions: [{body: {}}]\nlabels:\n  production: 2\n",
            "t.yaml:4: labels.production: points at version 2, which the file does not hold",
        ),
        ("slug: t\nversions: [\n", "t.yaml:3: not YAML"),
        ("slug: t\n  bad: indent\n", "t.yaml:2: not YAML"),
    ],
)
def test_a_malformed_file_is_an_error_naming_file_line_and_path(text, expected):
    with pytest.raises(TemplateFileError) as raised:
        loads(text, source="t.yaml")
    assert raised.value.message.startswith(expected), raised.value.message


def test_a_malformed_json_file_names_its_line():
    with pytest.raises(TemplateFileError) as raised:
        loads('{\n  "slug": "t",\n  "versions": [,]\n}', source="t.json")
    assert raised.value.message.startswith("t.json:3: not JSON")


def test_json_is_json_text_with_a_final_newline():
    written = dumps(a_file(make_body()), fmt="json")
    assert written.endswith("}\n") and json.loads(written)["slug"] == "doc-qa"
