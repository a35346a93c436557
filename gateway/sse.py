"""Server-sent events: generic parsing, shared by the httpx provider clients.

Follows the WHATWG event-stream rules that matter for API streams. The stream is
UTF-8 and lines end only at CRLF, LF or CR: not at the other breaks that
``str.splitlines`` (and so ``httpx.Response.aiter_lines``) honours, such as U+2028,
which JSON allows unescaped inside a string. Fields are ``event:`` and ``data:``
with one optional space after the colon; several ``data:`` lines join with
newlines; ``:`` comment lines are skipped; an event is dispatched at the blank line
that ends it, and an unterminated last event is dropped.

Use: ``iter_sse(iter_lines(response.aiter_bytes()))``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncIterator

_LINE_END = re.compile(r"\r\n|\r|\n")


async def iter_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The lines of an event stream, without their line ends, however the bytes are chunked."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    async for chunk in chunks:
        pending += decoder.decode(chunk)
        # A CR at the end may be the first half of a CRLF: keep it for the next chunk.
        cut = len(pending) - 1 if pending.endswith("\r") else len(pending)
        *lines, rest = _LINE_END.split(pending[:cut])
        pending = rest + pending[cut:]
        for line in lines:
            yield line
    pending += decoder.decode(b"", final=True)
    if pending:  # the last line: unterminated, or ended by a lone CR
        yield pending.removesuffix("\r")


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str | None, str]]:
    """Yield ``(event, data)`` per event; ``event`` is None when the event has no name."""
    event: str | None = None
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = None, []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        # Comments (empty name), "id", "retry" and unknown fields carry nothing we use.
