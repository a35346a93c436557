"""Mustache and Handlebars texts as Jinja: the exact translation of each construct, what the
translation renders next to what Mustache or Handlebars would (expected strings written by
hand), and the notes on what is not translated."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from templates_app.engine.importers import DEFAULT_MODEL
from templates_app.engine.importers.mustache import to_jinja, translate
from templates_app.engine.importers.pieces import declarations, sample_values
from templates_app.engine.rendering import compile_body, render


def rendered(text: str, dialect: str, values: dict[str, Any]) -> str:
    """What the translation of ``text`` renders with ``values``, through a Cachet body."""
    result = translate(text, dialect=dialect)
    body: dict[str, Any] = {
        "model": DEFAULT_MODEL,
        "variables": declarations(result.names, result.uses),
        "messages": [{"role": "user", "content": result.text}],
    }
    return render(compile_body(body), values).request.messages[0].content


# --- exact translations ---------------------------------------------------------------------

MUSTACHE = [
    ("Hello {{name}}!", "Hello {{ name }}!", ["name"]),
    ("Hello {{ name }}!", "Hello {{ name }}!", ["name"]),
    ("{{user.first_name}}", "{{ user.first_name }}", ["user"]),
    ("{{{html}}} and {{& raw}}", "{{ html }} and {{ raw }}", ["html", "raw"]),
    ("a{{! a comment }}b", "ab", []),
    ("{{#vip}}VIP{{/vip}}", "{% if vip %}VIP{% endif %}", ["vip"]),
    ("{{^vip}}regular{{/vip}}", "{% if not vip %}regular{% endif %}", ["vip"]),
    ("{{#tags}}[{{.}}]{{/tags}}", "{% for item in tags %}[{{ item }}]{% endfor %}", ["tags"]),
    ("{{#a.b}}x{{/a.b}}", "{% if a.b %}x{% endif %}", ["a"]),
    ("{{items.0}} {{a.items}}", "{{ items[0] }} {{ a['items'] }}", ["items", "a"]),
    ("{{list.length}}", "{{ list|length }}", ["list"]),
    ("{{b}} {{a}} {{b}}", "{{ b }} {{ a }} {{ b }}", ["b", "a"]),
    # Literal text that Jinja would read as syntax renders as written.
    ("{% if %} {# no #} {{x}}", "{{ '{%' }} if {{ '%}' }} {{ '{#' }} no {{ '#}' }} {{ x }}", ["x"]),
]

HANDLEBARS = [
    ("Hi {{name}}", "Hi {{ name }}", ["name"]),
    ("{{#if a}}A{{/if}}", "{% if a %}A{% endif %}", ["a"]),
    (
        "{{#if a}}A{{else if b}}B{{else}}C{{/if}}",
        "{% if a %}A{% elif b %}B{% else %}C{% endif %}",
        ["a", "b"],
    ),
    ("{{#unless a}}A{{else}}B{{/unless}}", "{% if not a %}A{% else %}B{% endif %}", ["a"]),
    (
        "{{#each items}}{{this}}{{/each}}",
        "{% for item in items %}{{ item }}{% endfor %}",
        ["items"],
    ),
    (
        "{{#each people}}{{@index}}:{{name}}/{{this.age}}/{{../team}}{{/each}}",
        "{% for item in people %}{{ loop.index0 }}:{{ item.name }}/{{ item.age }}/{{ team }}"
        "{% endfor %}",
        ["people", "team"],
    ),
    (
        "{{#each items}}{{#unless @last}}, {{/unless}}{{/each}}",
        "{% for item in items %}{% if not loop.last %}, {% endif %}{% endfor %}",
        ["items"],
    ),
    (
        "{{#each rows as |row i|}}{{i}}={{row}}{{else}}none{{/each}}",
        "{% for row in rows %}{{ loop.index0 }}={{ row }}{% else %}none{% endfor %}",
        ["rows"],
    ),
    (
        "{{#each a}}{{#each this}}{{this}}{{/each}}{{/each}}",
        "{% for item in a %}{% for item2 in item %}{{ item2 }}{% endfor %}{% endfor %}",
        ["a"],
    ),
    (
        "{{#with person}}{{name}}{{else}}nobody{{/with}}",
        "{% if person %}{{ person.name }}{% else %}nobody{% endif %}",
        ["person"],
    ),
    ("{{@root.x}}", "{{ x }}", ["x"]),
    (
        '{{#ifEquals tier "pro"}}P{{else}}F{{/ifEquals}}',
        "{% if tier == 'pro' %}P{% else %}F{% endif %}",
        ["tier"],
    ),
    ("{{#unlessEquals n 3}}x{{/unlessEquals}}", "{% if n != 3 %}x{% endif %}", ["n"]),
    ("{{{raw}}} {{~ a ~}} !", "{{ raw }}{{ a }}!", ["raw", "a"]),
    ("{{!-- has }} inside --}}ok", "ok", []),
    ("\\{{literal}} {{x}}", "{{ '{{' }}literal}} {{ x }}", ["x"]),
    ("{{a.[odd key]}}", "{{ a['odd key'] }}", ["a"]),
]


@pytest.mark.parametrize(("source", "jinja", "names"), MUSTACHE)
def test_mustache_translations(source: str, jinja: str, names: list[str]) -> None:
    text, used, _ = to_jinja(source, dialect="mustache")
    assert (text, used) == (jinja, names)


@pytest.mark.parametrize(("source", "jinja", "names"), HANDLEBARS)
def test_handlebars_translations(source: str, jinja: str, names: list[str]) -> None:
    text, used, notes = to_jinja(source, dialect="handlebars")
    assert (text, used, notes) == (jinja, names, [])


def test_a_block_tag_alone_on_its_line_takes_the_line_with_it() -> None:
    source = "A\n  {{#vip}}\nVIP\n  {{/vip}}\nB"
    assert to_jinja(source, dialect="mustache")[0] == "A\n{% if vip %}VIP\n{% endif %}B"


def test_a_block_tag_sharing_its_line_keeps_the_line() -> None:
    source = "A {{#vip}}VIP{{/vip}}\nB"
    assert to_jinja(source, dialect="mustache")[0] == "A {% if vip %}VIP{% endif %}\nB"


def test_the_loop_variable_is_a_name_the_text_does_not_use() -> None:
    text, names, _ = to_jinja("{{item}}: {{#each items}}{{this}}{{/each}}", dialect="handlebars")
    assert text == "{{ item }}: {% for item2 in items %}{{ item2 }}{% endfor %}"
    assert names == ["item", "items"]


def test_uses_say_how_each_name_is_used() -> None:
    result = translate(
        "{{#each xs}}{{this}}{{/each}}{{#if flag}}{{/if}}{{#if s}}{{s}}{{/if}}{{o.k}}",
        dialect="handlebars",
    )
    assert result.uses == {
        "xs": {"list"},
        "flag": {"condition"},
        "s": {"condition", "value"},
        "o": {"object"},
    }
    assert result.fields == {"o": {("k",)}}
    assert declarations(result.names, result.uses) == {
        "xs": {"type": "array", "default": []},
        "flag": {"type": "boolean", "default": False},
        "s": {"type": "string", "default": ""},
        "o": {"type": "object", "required": True},
    }
    assert sample_values(declarations(result.names, result.uses), {}, result.fields) == {
        "o": {"k": "<o.k>"}
    }


# --- what it renders ------------------------------------------------------------------------

ORDER = (
    "Dear {{customer.name}},\n"
    "{{#premium}}\n"
    "As a premium member you get free returns.\n"
    "{{/premium}}\n"
    "{{^items}}\n"
    "Your order is empty.\n"
    "{{/items}}\n"
    "{{#items}}\n"
    "- {{.}}\n"
    "{{/items}}\n"
    "Thanks!"
)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"customer": {"name": "Ana"}, "premium": True, "items": ["boots", "tent"]},
            "Dear Ana,\nAs a premium member you get free returns.\n- boots\n- tent\nThanks!",
        ),
        (
            {"customer": {"name": "Bo"}, "premium": False, "items": []},
            "Dear Bo,\nYour order is empty.\nThanks!",
        ),
    ],
)
def test_a_mustache_text_renders_as_mustache_would(values: dict, expected: str) -> None:
    assert rendered(ORDER, "mustache", values) == expected


DIGEST = (
    "Digest for {{team}}\n"
    "{{#if blockers}}\n"
    "Blocked:\n"
    "{{#each blockers}}\n"
    "  {{@index}}. {{this}} (reported to {{../lead}})\n"
    "{{/each}}\n"
    "{{else}}\n"
    "Nothing is blocked.\n"
    "{{/if}}\n"
    "{{#each shipped as |item|}}\n"
    "{{#if @first}}Shipped: {{/if}}{{item.title}}{{#unless @last}}, {{/unless}}\n"
    "{{~/each}}\n"
    "."
)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {
                "team": "Payments",
                "lead": "Kim",
                "blockers": ["VPN", "CI"],
                "shipped": [{"title": "SEPA"}, {"title": "Ledger"}],
            },
            "Digest for Payments\nBlocked:\n  0. VPN (reported to Kim)\n  1. CI (reported to Kim)"
            "\nShipped: SEPA, Ledger.",
        ),
        (
            {"team": "Search", "lead": "Kim", "blockers": [], "shipped": []},
            "Digest for Search\nNothing is blocked.\n.",
        ),
    ],
)
def test_a_handlebars_text_renders_as_handlebars_would(values: dict, expected: str) -> None:
    assert rendered(DIGEST, "handlebars", values) == expected


def test_a_guarded_value_renders_only_when_given() -> None:
    text = "{{#context}}Context: {{context}}\n{{/context}}Q: {{question}}"
    assert rendered(text, "mustache", {"question": "Why?"}) == "Q: Why?"
    assert rendered(text, "mustache", {"context": "FAQ", "question": "Why?"}) == (
        "Context: FAQ\nQ: Why?"
    )


# Text without a tag: only characters a body can hold (no NUL, no CR, which bodies normalise).
PLAIN_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="\x00\r", blacklist_categories=("Cs",)),
    max_size=80,
).filter(lambda text: "{{" not in text)


@settings(max_examples=300, deadline=None)
@given(PLAIN_TEXT, st.sampled_from(["mustache", "handlebars"]))
def test_text_without_tags_renders_as_itself(text: str, dialect: str) -> None:
    jinja, names, notes = to_jinja(text, dialect=dialect)
    assert (names, notes) == ([], [])
    assert rendered(text, dialect, {}) == text


@settings(max_examples=200, deadline=None)
@given(PLAIN_TEXT, PLAIN_TEXT)
def test_literal_text_around_a_variable_renders_as_written(before: str, after: str) -> None:
    source = before + "{{{x}}}" + after
    if "{" in before[-1:] or "}" in after[:1]:  # would change the tag itself
        return
    assert rendered(source, "mustache", {"x": "<v>"}) == before + "<v>" + after


# --- notes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "note"),
    [
        ("{{#a}}open", "{{#a}} is never closed: the text is kept as written"),
        ("x{{/a}}", "{{/a}} closes no open section: the text is kept as written"),
        ("{{#a}}x{{/b}}", "{{/b}} closes {{#a}}: the text is kept as written"),
        ("{{x", "the tag '{{x' is never closed with }}: the text is kept as written"),
        (
            "{{=<% %>=}}<% x %>",
            "{{=<% %>=}} changes the delimiters, which is not translated: the text is kept "
            "as written",
        ),
    ],
)
def test_unbalanced_or_unreadable_text_is_kept_as_written(source: str, note: str) -> None:
    text, names, notes = to_jinja(source, dialect="mustache")
    assert (names, notes) == ([], [note])
    assert rendered(source, "mustache", {}) == source


@pytest.mark.parametrize(
    ("source", "dialect", "jinja", "note"),
    [
        (
            "Hi {{> header}}",
            "mustache",
            "Hi {{ '{{' }}> header}}",
            "{{> header}}: partials are not translated (kept as text)",
        ),
        (
            "{{loop}}",
            "mustache",
            "{{ '{{' }}loop}}",
            "{{loop}}: 'loop' cannot be a Cachet variable name (kept as text)",
        ),
        (
            "{{.}}",
            "mustache",
            "{{ '{{' }}.}}",
            "{{.}}: {{.}} outside a list section (kept as text)",
        ),
        (
            "{{json order}}",
            "handlebars",
            "{{ '{{' }}json order}}",
            "{{json order}}: the helper json is not translated (kept as text)",
        ),
        (
            "{{#each o}}{{@key}}{{/each}}",
            "handlebars",
            "{% for item in o %}{{ '{{' }}@key}}{% endfor %}",
            "{{@key}}: @key (iterating an object's keys) is not translated (kept as text)",
        ),
        (
            '{{#if (eq a "b")}}x{{/if}}',
            "handlebars",
            "{{ '{{' }}#if (eq a \"b\")}}x{{ '{{' }}/if}}",
            '{{#if (eq a "b")}}: if with (eq a "b") (the block is kept as text)',
        ),
        (
            "{{#custom x}}y{{/custom}}",
            "handlebars",
            "{{ '{{' }}#custom x}}y{{ '{{' }}/custom}}",
            "{{#custom x}}: the block helper custom is not translated (the block is kept as text)",
        ),
        (
            "{{history}}",
            "handlebars",
            "",
            "{{history}} dropped: Cachet appends the caller's messages after the template's own",
        ),
        (
            "{{media url=photo}}",
            "handlebars",
            "",
            "{{media url=photo}} is not carried over (dropped)",
        ),
        (
            '{{section "output"}}',
            "handlebars",
            "",
            '{{section "output"}} is not carried over (dropped)',
        ),
    ],
)
def test_what_is_not_translated_is_noted(source: str, dialect: str, jinja: str, note: str) -> None:
    text, _, notes = to_jinja(source, dialect=dialect)
    assert (text, notes) == (jinja, [note])


def test_a_block_kept_as_text_records_no_names() -> None:
    text, names, _ = to_jinja("{{#custom a}}{{b}}{{/custom}}{{c}}", dialect="handlebars")
    assert names == ["c"]
    assert text.endswith("{{ c }}")


def test_mustache_escaping_is_noted_once_per_text() -> None:
    _, _, notes = to_jinja("{{a}} {{b}} {{{c}}}", dialect="mustache")
    assert notes == ["Mustache HTML-escapes {{a}} (& < > \" '); Cachet inserts values as they are"]
    assert to_jinja("{{{a}}} {{& b}}", dialect="mustache")[2] == []
    assert to_jinja("{{a}}", dialect="handlebars")[2] == []  # dotprompt compiles with noEscape


def test_a_section_taken_for_a_condition_is_noted_unless_its_value_is_printed() -> None:
    _, _, notes = to_jinja("{{#items}}x{{/items}}", dialect="mustache")
    assert notes == [
        "{{#items}} is translated as a condition ({% if %}); Mustache repeats it once per item "
        "when items is a list, and reads the names inside on items itself when it is an object "
        "(here they are read at the top level)"
    ]
    assert to_jinja("{{#c}}{{{c}}}{{/c}}", dialect="mustache")[2] == []


def test_an_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="dialect"):
        to_jinja("x", dialect="liquid")
