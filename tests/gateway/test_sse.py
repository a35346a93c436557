from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hypothesis import given
from hypothesis import strategies as st

from gateway.sse import iter_lines, iter_sse


async def chunks_of(raw: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


def parsed(raw: bytes, size: int = 1 << 20) -> list[tuple[str | None, str]]:
    async def main() -> list[tuple[str | None, str]]:
        return [event async for event in iter_sse(iter_lines(chunks_of(raw, size)))]

    return asyncio.run(main())


def test_sse_joins_data_lines_and_skips_comments():
    raw = b": keep-alive\nevent: a\ndata: one\ndata:two\nid: 7\n\ndata: {}\r\n\r\nevent: empty\n\n"

    assert parsed(raw) == [("a", "one\ntwo"), (None, "{}")]


def test_sse_drops_an_unterminated_last_event():
    assert parsed(b"event: a\ndata: 1\n\nevent: b\ndata: 2") == [("a", "1")]


def test_sse_lines_end_only_at_cr_and_lf():
    raw = 'data: {"text": "a\u2028b\x0cc\x1cd\x85e"}\r\r'.encode()

    assert parsed(raw, size=3) == [(None, '{"text": "a\u2028b\x0cc\x1cd\x85e"}')]


names = st.none() | st.text("abcdefghij_", min_size=1, max_size=12)
payloads = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), max_size=40
)


@given(
    events=st.lists(st.tuples(names, st.lists(payloads, min_size=1, max_size=3)), max_size=6),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    size=st.integers(min_value=1, max_value=64),
)
def test_sse_round_trips_any_events_however_chunked(events, newline, size):
    text = ""
    for name, data in events:
        text += f"event: {name}{newline}" if name else ""
        text += "".join(f"data: {line}{newline}" for line in data) + newline

    assert parsed(text.encode(), size) == [(name, "\n".join(data)) for name, data in events]
