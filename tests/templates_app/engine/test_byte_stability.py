"""Guarantee 1 of docs/architecture.md ("The guarantees"): cached prefixes are byte-stable.

Same version + same prefix-variable values ⇒ identical bytes for every block up
to the last checkpoint, and for their serialized JSON on the wire, whatever the
suffix values, process, hash seed, clock, locale or database. Each property runs on both
render paths: the full render and the send path's, which splices the suffix onto a prefix
from the prefix cache (``engine/splice.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.registry import prewarm, translate
from gateway.wire import dumps
from templates_app.engine.canonical import iter_block_texts
from templates_app.engine.rendering import compile_body, render, render_prefix
from templates_app.engine.splice import PrefixCache, render_spliced
from tests.factories import make_body, make_tool

ROOT = Path(__file__).resolve().parents[3]
MODELS = [
    "sim/claude-sonnet-4-5",
    "anthropic/claude-sonnet-4-5",
    "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "openai/gpt-4o",
]
# Wire markers whose last occurrence closes the cached prefix on each wire format.
MARKERS = {
    "sim": b'"cache_control":',
    "anthropic": b'"cache_control":',
    "bedrock": b'{"cachePoint":',
}


def stability_body() -> dict:
    """Tools, system and a user message all hold checkpoints; suffix values live after them,
    including in a later part of the same message as the last checkpoint."""
    tool = make_tool(cache_control={"type": "ephemeral", "ttl": "1h"})
    tool["function"]["description"] = "Orders of {{ store }}."
    body = make_body(tools=[tool])
    body["variables"] = {
        "store": {"type": "string"},
        "document": {"type": "string"},
        "settings": {"type": "object", "default": {}},
        "question": {"type": "string"},
        "history": {"type": "array", "default": []},
        "flag": {"type": "boolean", "default": False},
        "count": {"type": "number", "default": 0},
    }
    body["messages"] = [
        {
            "role": "system",
            "content": [
                {
                    "type": "text",
                    "text": "You work for {{ store }}. Settings: {{ settings | tojson }}",
                },
                {"type": "text", "text": "{{ document }}", "cache_control": {"type": "ephemeral"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "Context {{ settings | dictsort }}",
                    "cache_control": {"type": "ephemeral"},
                },
                {
                    "type": "text",
                    "text": "{{ question }} {% for h in history %}[{{ h }}]{% endfor %}",
                },
            ],
        },
        {"role": "assistant", "content": "{{ flag }} {{ count }} {{ question | length }}"},
        {"role": "user", "content": "{{ question }}"},
    ]
    return body


COMPILED = compile_body(stability_body())
# The full render, and the spliced one with a cache shared by every example (hits and misses).
RENDERS = {
    "full": render,
    "spliced": partial(render_spliced, cache=PrefixCache(64 * 1024 * 1024)),
}
both_paths = pytest.mark.parametrize("path", sorted(RENDERS))

# NUL and lone surrogates are refused in variable values (tested elsewhere); every other
# character is fair game.
characters = st.characters(codec="utf-8", exclude_characters="\x00")
text = st.text(alphabet=characters)
nasty_text = st.one_of(
    text,
    st.sampled_from(
        [
            "",
            "{{ document }}",
            "{% raw %}",
            "}}{{",
            "\"'\\",
            "\r\n\r",
            "\u2028\u2029",
            "\x7f\x1b[31m",
            "😀👍🏽",
            "\ufeff",
            "\\u0000",
            "</script>",
        ]
    ),
    st.builds(
        lambda s, n: s * n,
        st.text(characters, min_size=1, max_size=8),
        st.integers(1000, 5000),
    ),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    nasty_text,
    st.floats(allow_nan=False, allow_infinity=False),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
suffix_values = st.fixed_dictionaries(
    {
        "question": nasty_text,
        "history": st.lists(json_values, max_size=5),
        "flag": st.booleans(),
        "count": st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)),
    }
)
PREFIX = {
    "store": "Fernhollow",
    "document": "Refunds within 30 days.\n" * 300,
    "settings": {"tone": "calm", "lang": "en"},
}


def prefix_texts(result) -> list[str]:
    texts = [text for _, text in iter_block_texts(result.request)]
    return texts[: COMPILED.body.prefix_end + 1]


def wire_prefix_end(wire: bytes, provider: str) -> int:
    """Byte offset just after the last checkpoint's block on the wire."""
    start = wire.rindex(MARKERS[provider])
    marker_end = wire.index(b"}", start) + 1
    return marker_end + (1 if provider == "bedrock" else 2)


def test_the_fixture_body_has_its_last_checkpoint_inside_a_message_with_suffix_text():
    assert COMPILED.body.checkpoints[-1].path == "messages[1].content[0]"
    assert COMPILED.prefix_variables == ("document", "settings", "store")


@both_paths
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one=suffix_values, two=suffix_values)
def test_suffix_values_never_change_a_prefix_byte_or_a_fingerprint(one, two, path):
    for model in MODELS[:3]:
        first = RENDERS[path](COMPILED, {**PREFIX, **one}, model=model)
        second = RENDERS[path](COMPILED, {**PREFIX, **two}, model=model)
        assert prefix_texts(first) == prefix_texts(second)
        assert [c.fingerprint for c in first.checkpoints] == [
            c.fingerprint for c in second.checkpoints
        ]
        provider = model.split("/")[0]
        a, b = dumps(translate(first.request)), dumps(translate(second.request))
        end = wire_prefix_end(a, provider)
        assert end == wire_prefix_end(b, provider)
        assert a[:end] == b[:end]


def without_output_limit(wire: dict) -> dict:
    """A wire body without its output limit, the one field a warm-up sets otherwise."""
    wire = {k: v for k, v in wire.items() if k not in ("max_tokens", "max_completion_tokens")}
    if "inferenceConfig" in wire:
        wire["inferenceConfig"] = {
            k: v for k, v in wire["inferenceConfig"].items() if k != "maxTokens"
        }
    return wire


@settings(max_examples=100, deadline=None)
@given(values=suffix_values)
def test_a_warm_up_sends_the_prefix_bytes_and_fingerprints_of_every_call(values):
    for model in MODELS[:3]:
        call = render(COMPILED, {**PREFIX, **values}, model=model)
        warm = render_prefix(COMPILED, PREFIX, model=model)
        assert warm.checkpoints == call.checkpoints
        assert warm.request.cache_key == call.request.cache_key
        provider = model.split("/")[0]
        a = dumps(without_output_limit(translate(call.request)))
        b = dumps(without_output_limit(translate(prewarm(warm.request))))
        end = wire_prefix_end(a, provider)
        assert end == wire_prefix_end(b, provider)
        # Up to the end of the last checkpoint's block; the call goes on, the warm-up stops.
        assert a[: end - 1] == b[: end - 1]
        assert len(b) < len(a)


@both_paths
@settings(max_examples=100, deadline=None)
@given(one=suffix_values, two=suffix_values)
def test_openai_messages_up_to_the_checkpoint_and_cache_key_are_stable(one, two, path):
    a = translate(RENDERS[path](COMPILED, {**PREFIX, **one}, model="openai/gpt-4o").request)
    b = translate(RENDERS[path](COMPILED, {**PREFIX, **two}, model="openai/gpt-4o").request)
    assert a["prompt_cache_key"] == b["prompt_cache_key"]
    assert dumps(a["tools"]) == dumps(b["tools"])
    assert dumps(a["messages"][0]) == dumps(b["messages"][0])
    assert dumps(a["messages"][1]["content"][0]) == dumps(b["messages"][1]["content"][0])


@both_paths
@settings(max_examples=200, deadline=None)
@given(
    store=nasty_text,
    other=nasty_text,
    settings_value=st.dictionaries(text, json_values, max_size=5),
)
def test_equal_prefix_values_give_equal_fingerprints_and_different_ones_differ(
    store, other, settings_value, path
):
    values = {**PREFIX, "question": "q", "store": store, "settings": settings_value}
    reordered = dict(reversed(list(settings_value.items())))
    same = RENDERS[path](COMPILED, values)
    again = RENDERS[path](COMPILED, {**values, "settings": reordered})
    changed = RENDERS[path](COMPILED, {**values, "store": other})
    assert [c.fingerprint for c in same.checkpoints] == [c.fingerprint for c in again.checkpoints]
    if store != other:
        assert all(
            x.fingerprint != y.fingerprint
            for x, y in zip(same.checkpoints, changed.checkpoints, strict=True)
        )


@both_paths
@settings(max_examples=100, deadline=None)
@given(document=nasty_text, other=nasty_text)
def test_a_changed_later_prefix_changes_only_the_checkpoints_after_it(document, other, path):
    base = {**PREFIX, "question": "q"}
    one = RENDERS[path](COMPILED, {**base, "document": document}).checkpoints
    two = RENDERS[path](COMPILED, {**base, "document": other}).checkpoints
    assert one[0].fingerprint == two[0].fingerprint  # the tools checkpoint comes before it
    if document != other:
        assert one[1].fingerprint != two[1].fingerprint
        assert one[2].fingerprint != two[2].fingerprint


SCRIPT = """
import hashlib, json, sys
sys.path.insert(0, {root!r})
from tests.templates_app.engine.test_byte_stability import COMPILED, PREFIX, MODELS, RENDERS
from gateway.registry import prewarm, translate
from gateway.wire import dumps
out = {{}}
for path, render in sorted(RENDERS.items()):
    out[path] = {{}}
    for model in MODELS:
        render(COMPILED, {{**PREFIX, "question": "first?"}}, model=model)  # spliced: a miss
        result = render(COMPILED, {{**PREFIX, "question": "why?"}}, model=model)  # then a hit
        out[path][model] = [[c.fingerprint for c in result.checkpoints],
                            hashlib.sha256(dumps(translate(result.request))).hexdigest()]
print(json.dumps(out, sort_keys=True))
"""


def _run_in_process(seed: str, extra_env: dict[str, str]) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": seed, **extra_env}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the renderer needs no Django at all
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(root=str(ROOT))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("seed", "extra_env"),
    [
        ("1", {"TZ": "UTC", "LC_ALL": "C"}),
        ("4242", {"TZ": "Asia/Kathmandu", "LC_ALL": "C.UTF-8"}),
        ("random", {"TZ": "America/St_Johns", "LANG": "tr_TR.UTF-8"}),
    ],
)
def test_other_processes_with_other_hash_seeds_agree_on_every_fingerprint(seed, extra_env):
    here = {}
    for model in MODELS:
        result = render(COMPILED, {**PREFIX, "question": "why?"}, model=model)
        here[model] = [
            [c.fingerprint for c in result.checkpoints],
            hashlib.sha256(dumps(translate(result.request))).hexdigest(),
        ]
    expected = json.loads(json.dumps(here, sort_keys=True))
    assert _run_in_process(seed, extra_env) == {path: expected for path in RENDERS}
