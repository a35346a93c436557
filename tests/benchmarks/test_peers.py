"""The pure parts of ``benchmarks/peers.py`` and the recording stub; no peer installed."""

from __future__ import annotations

import asyncio
import json

import pytest

from benchmarks import peers, upstream


def target(name, **figures):
    t = peers.Target(name, markers="yes")
    t.latency = {1: [0.020] * 98 + [0.030] * 2, 8: [0.025] * 100}
    t.ttfb = [0.021] * 10
    for key, value in figures.items():
        setattr(t, key, value)
    return t


def test_a_system_block_with_cache_control_counts_as_a_forwarded_marker():
    marked = {
        "system": [
            {"type": "text", "text": "a"},
            {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}},
        ]
    }
    assert peers.system_marked(marked)
    assert not peers.system_marked({"system": [{"type": "text", "text": "a"}]})
    assert not peers.system_marked({"system": "a plain string"})
    assert not peers.system_marked({"messages": []})


def test_ratios_are_cachet_over_the_peer_and_undefined_without_a_positive_figure():
    assert peers.ratio(6.0, 3.0) == "2.00×"
    assert peers.ratio(None, 3.0) == "–"
    assert peers.ratio(1.0, -0.5) == "–"


def test_the_table_shows_added_latency_and_a_failed_peer_as_failed():
    direct = target("direct", rps=6000.0)
    cachet = target("Cachet", rps=100.0, rss_idle=90.0, rss_load=110.0)
    cachet.latency = {1: [0.026] * 100, 8: [0.035] * 100}
    cachet.ttfb = [0.024] * 10
    portkey = target("Portkey", rps=400.0, rss_idle=80.0, rss_load=220.0)
    litellm = target(
        "LiteLLM", error="did not start: exited with 1", errors=0, markers="not checked"
    )
    lines = peers.table([direct, cachet, portkey, litellm])
    assert lines[0].startswith("| one worker each, same stub, same request | added p50 c=1 |")
    assert (
        lines[2] == "| direct | (baseline 20.00 ms) | (baseline 30.00 ms) | (baseline 25.00 ms) "
        "| (baseline 21.00 ms) | 6,000 | – | yes |"
    )
    assert lines[3] == (
        "| Cachet | **6.00 ms** | -4.00 ms | 10.00 ms | 3.00 ms | 100 | 90 / 110 MiB | yes |"
    )
    assert lines[4].startswith("| Portkey | **0.00 ms** |")
    assert "failed: did not start" in lines[5] and "(0 errors)" in lines[5]
    assert "6.00" not in lines[5]  # no figures for a peer that did not run
    line = peers.ratios([direct, cachet, portkey, litellm])
    assert (
        "Cachet ÷ Portkey: added p50 c=1 –, added p50 c=8 –, added first byte –, req/s 0.25×, "
        "RSS at load 0.50×" in line
    )
    assert "Cachet ÷ LiteLLM: – (no figures for both)" in line


def test_a_response_is_read_by_content_length_or_in_chunks():
    async def read(raw: bytes):
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        first = await peers.read_response(reader)
        return first, await reader.read()

    plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}rest"
    assert asyncio.run(read(plain)) == ((200, False), b"rest")
    chunked = (
        b"HTTP/1.1 502 Bad Gateway\r\ntransfer-encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\nrest"
    )
    assert asyncio.run(read(chunked)) == ((502, True), b"rest")


def test_a_run_without_the_peers_names_what_is_missing(tmp_path):
    missing = peers.missing_peers(tmp_path)
    assert missing == [
        f"Portkey {peers.PORTKEY_VERSION} (found nothing)",
        f"LiteLLM {peers.LITELLM_VERSION} (found nothing)",
    ]


async def call(path: str, body: bytes = b"", method: str = "POST"):
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await upstream.app({"type": "http", "path": path, "method": method}, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def recording(monkeypatch):
    monkeypatch.setattr(upstream, "RECORD", 2)
    monkeypatch.setattr(upstream, "LATENCY", 0.0)
    monkeypatch.setattr(upstream, "_requests", 0)
    monkeypatch.setattr(upstream, "_received", upstream.collections.deque(maxlen=2))


def test_the_recording_stub_keeps_the_last_bodies_and_changes_its_latency(recording):
    for n in range(3):
        assert asyncio.run(call("/v1/messages", b'{"n":%d}' % n))[0] == 200
    status, answer = asyncio.run(call("/_stub/received", method="GET"))
    assert status == 200
    assert json.loads(answer) == {
        "requests": 3,
        "received": [
            {"path": "/v1/messages", "body": '{"n":1}'},
            {"path": "/v1/messages", "body": '{"n":2}'},
        ],
    }
    assert asyncio.run(call("/_stub/latency", b'{"ms": 5}', method="PUT"))[0] == 200
    assert upstream.LATENCY == 0.005


def test_the_stub_has_no_control_paths_by_default(monkeypatch):
    monkeypatch.setattr(upstream, "RECORD", 0)
    assert asyncio.run(call("/_stub/received", method="GET"))[0] == 404
