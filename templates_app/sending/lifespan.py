"""The ASGI lifespan Django lacks: what a worker does when it starts and when it stops.

uvicorn sends ``lifespan.shutdown`` after it has stopped accepting connections and let
the in-flight requests finish; the queued invocation rows are written then, before the
process exits, and the provider connections are closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.conf import settings

from .clients import close_clients
from .writer import writer_stop

log = logging.getLogger(__name__)


class Lifespan:
    """Wraps the Django ASGI app; every other scope passes straight through."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def shutdown() -> None:
    """Close this loop's provider clients and write every queued invocation row."""
    await close_clients()
    timeout = settings.CACHET["INVOCATION_DRAIN_TIMEOUT"]
    if not await asyncio.to_thread(writer_stop, timeout):
        log.error("some invocation rows could not be written before shutdown (logged above)")
