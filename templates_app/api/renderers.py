"""The media types the send endpoint answers in, for content negotiation."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer


class EventStreamRenderer(BaseRenderer):
    """``text/event-stream``: what an SSE client (a browser's ``EventSource``) asks for.

    It only lets negotiation accept such a client: the events themselves are written by
    ``sending/flow.py`` into a ``StreamingHttpResponse``, and every other answer of the
    view (an error included) is JSON whatever was negotiated.
    """

    media_type = "text/event-stream"
    format = "event-stream"
    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        raise NotImplementedError("events are streamed by the view, not rendered")
